import * as fs from "node:fs";
import * as path from "node:path";
import { ReleaseConfigError } from "../model/errors";

/**
 * Reads a small file from the build context, which is someone else's checkout: only a regular file
 * inside the context, at most `maxBytes`. A symbolic link that leads out of the context (to
 * /proc/self/environ, a secret, a device) is refused, naming the link; a FIFO, a device, a socket or
 * a directory is refused without waiting on it: the file is opened with O_NONBLOCK (opening a FIFO
 * then never waits for a writer), checked with fstat, and read only up to the cap. Undefined when
 * the file does not exist.
 */
export function readContextFile(context: string, relative: string, what: string, maxBytes: number): string | undefined {
  const file = path.join(context, relative);
  const refuse = (got: string) =>
    new ReleaseConfigError(
      `${what} ${file} must be a regular file of at most ${maxBytes} bytes, got ${got} (only regular files inside finsight:context are read)`,
    );
  const real = resolveInContext(context, file, what, refuse);
  if (real === undefined) return undefined;
  let fd: number;
  try {
    // O_NOFOLLOW: what was checked above is what is opened, not a link swapped in meanwhile.
    fd = fs.openSync(real, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOFOLLOW);
  } catch (error) {
    throw refuse(`a file that cannot be opened (${(error as NodeJS.ErrnoException).code})`);
  }
  try {
    return readRegularFile(fd, maxBytes, refuse);
  } finally {
    fs.closeSync(fd);
  }
}

/** The real path of `file`, refused when it is a dangling link or leads out of the context; undefined when it does not exist. */
function resolveInContext(
  context: string,
  file: string,
  what: string,
  refuse: (got: string) => ReleaseConfigError,
): string | undefined {
  let link: fs.Stats;
  try {
    link = fs.lstatSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT" || (error as NodeJS.ErrnoException).code === "ENOTDIR") {
      return undefined;
    }
    throw refuse(`a file that cannot be examined (${(error as NodeJS.ErrnoException).code})`);
  }
  let real: string;
  try {
    real = fs.realpathSync(file);
  } catch {
    throw refuse("a symbolic link to nothing");
  }
  const root = fs.realpathSync(context);
  if (!real.startsWith(`${root}${path.sep}`)) {
    throw new ReleaseConfigError(
      `${what} ${file} ${link.isSymbolicLink() ? "is a symbolic link" : "is reached through a symbolic link"} that leads out of the build context; only regular files inside finsight:context are read: replace it with the file itself`,
    );
  }
  return real;
}

/** The text of the open file `fd`, refused unless it is a regular file of at most `maxBytes`. */
function readRegularFile(fd: number, maxBytes: number, refuse: (got: string) => ReleaseConfigError): string {
  const stat = fs.fstatSync(fd);
  if (!stat.isFile()) {
    throw refuse(
      stat.isDirectory()
        ? "a directory"
        : stat.isFIFO()
          ? "a FIFO"
          : stat.isCharacterDevice() || stat.isBlockDevice()
            ? "a device"
            : stat.isSocket()
              ? "a socket"
              : "something that is not a file",
    );
  }
  if (stat.size > maxBytes) throw refuse(`${stat.size} bytes`);
  // Read up to the cap and one byte more, whatever the size said: a file may grow meanwhile.
  const buffer = Buffer.alloc(maxBytes + 1);
  let length = 0;
  for (;;) {
    const read = fs.readSync(fd, buffer, length, buffer.length - length, null);
    if (read === 0) break;
    length += read;
    if (length > maxBytes) throw refuse(`more than ${maxBytes} bytes`);
  }
  return buffer.subarray(0, length).toString("utf8");
}
