// tty as a plugin gets it: isatty, and no streams over the host's descriptors.
import { safe } from '../sandbox.mjs';
const tty = safe.tty;
export default tty;
export const { isatty, ReadStream, WriteStream } = tty;
