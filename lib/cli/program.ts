import { Command } from '@commander-js/extra-typings';

/** A fresh commander program with the tool's name and description; each tool's options.ts adds its flags. */
export function createProgram(name: string, description: string): Command {
  return new Command(name).description(description).allowExcessArguments(false);
}
