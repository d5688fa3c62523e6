// Module hooks of one plugin's worker (registered by plugin_worker.mjs before the plugin's
// entry is imported; they run on Node's hooks thread). Every import the plugin's code makes
// resolves here: built-ins by rules.mjs, files only inside the plugin's folder (its own
// node_modules included). The host's own modules (safe/*.mjs) import what they need freely.
import { isBuiltin } from 'node:module';
import { decide } from './rules.mjs';

let folderUrl = '';   // file:///.../plugin/ (the folder's real path, with a slash)
let hostUrl = '';     // file:///.../plugins/host/
let http = false;     // the manifest's http permission

export async function initialize(data) {
  ({ folderUrl, hostUrl, http } = data);
}

function refused(message) {
  const error = new Error(message);
  error.code = 'ERR_ACCESS_DENIED';
  return error;
}

export async function resolve(specifier, context, next) {
  if (context.parentURL?.startsWith(hostUrl) && !context.parentURL.startsWith(folderUrl)) {
    return next(specifier, context);
  }
  const name = specifier.startsWith('node:') ? specifier.slice(5) : specifier;
  if (isBuiltin(specifier)) {
    const decision = decide(name, http);
    if (decision === 'allow') return { url: `node:${name}`, shortCircuit: true };
    if (decision === 'wrap') return { url: `${hostUrl}safe/${name.replace('/', '_')}.mjs`, shortCircuit: true };
    throw refused(decision);
  }
  const result = await next(specifier, context);
  if (result.url.startsWith('node:')) {
    const decision = decide(result.url.slice(5), http);
    if (decision !== 'allow') throw refused(decision === 'wrap' ? `import of '${specifier}' is refused` : decision);
  }
  if (result.url.startsWith('file:') && !result.url.startsWith(folderUrl)) {
    throw refused(`import of '${specifier}': a plugin imports only files inside its own folder`);
  }
  return result;
}
