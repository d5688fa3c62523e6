// The Node.js SDK the tools here measure: the package `adashta` of this checkout
// (sdk/js, set up by sdk/js/setup.sh, which bench/setup.sh runs), imported from its source so
// nothing is installed or fetched at bench time.
export { Adashta, AdashtaError, codes } from '../../../sdk/js/src/index.js';
