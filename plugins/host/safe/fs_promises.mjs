// fs/promises as a plugin gets it: Node's own (path-based; a FileHandle is always one the
// plugin opened).
import { safe } from '../sandbox.mjs';
const fsp = safe['fs/promises'];
export default fsp;
export const {
  access, appendFile, chmod, chown, constants, copyFile, cp, lchown, link, lstat, lutimes, mkdir,
  mkdtemp, open, opendir, readdir, readFile, readlink, realpath, rename, rm, rmdir, stat, statfs,
  symlink, truncate, unlink, utimes, watch, writeFile,
} = fsp;
