// fs as a plugin gets it (sandbox.mjs, safeFs).
import { safe } from '../sandbox.mjs';
const fs = safe.fs;
export default fs;
export const {
  access, accessSync, appendFile, appendFileSync, chmod, chmodSync, chown, chownSync, close, closeSync,
  constants, copyFile, copyFileSync, cp, cpSync, createReadStream, createWriteStream, Dir, Dirent,
  exists, existsSync, fchmod, fchmodSync, fchown, fchownSync, fdatasync, fdatasyncSync, fstat,
  fstatSync, fsync, fsyncSync, ftruncate, ftruncateSync, futimes, futimesSync, lchown, lchownSync,
  link, linkSync, lstat, lstatSync, lutimes, lutimesSync, mkdir, mkdirSync, mkdtemp, mkdtempSync,
  open, openSync, opendir, opendirSync, promises, read, readdir, readdirSync, readFile, readFileSync,
  readlink, readlinkSync, readSync, readv, readvSync, ReadStream, realpath, realpathSync, rename,
  renameSync, rm, rmdir, rmdirSync, rmSync, stat, statfs, statfsSync, Stats, statSync, symlink,
  symlinkSync, truncate, truncateSync, unlink, unlinkSync, unwatchFile, utimes, utimesSync, watch,
  watchFile, write, writeFile, writeFileSync, writeSync, writev, writevSync, WriteStream,
} = fs;
