import { promises as fs } from 'node:fs';

/**
 * Reads a whole file; a failure becomes one line that names what the file
 * was for ("model file", "input image") and why it could not be read.
 */
export async function readFileExplained(file: string, what: string, makeError: (message: string) => Error, shown = file): Promise<Buffer> {
  try {
    return await fs.readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw makeError(`${what} '${shown}' does not exist`);
    if (code === 'EISDIR') throw makeError(`${what} '${shown}' is a directory, not a file`);
    if (code === 'EACCES') throw makeError(`${what} '${shown}' cannot be read (permission denied)`);
    throw makeError(`${what} '${shown}' cannot be read: ${(e as Error).message}`);
  }
}
