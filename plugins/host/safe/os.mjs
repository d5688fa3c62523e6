// os as a plugin gets it (sandbox.mjs, safeOs).
import { safe } from '../sandbox.mjs';
const os = safe.os;
export default os;
export const {
  arch, availableParallelism, constants, cpus, devNull, endianness, EOL, freemem, getPriority,
  homedir, hostname, loadavg, machine, networkInterfaces, platform, release, setPriority, tmpdir,
  totalmem, type, uptime, userInfo, version,
} = os;
