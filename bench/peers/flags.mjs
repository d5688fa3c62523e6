// Command-line flags for the bench/peers tools: `--name value` pairs only.
//
//   const flags = parse_flags(process.argv.slice(2), "usage: tool --port P", { port: null, size: 64 });
//   flags.port  // a number or string; null defaults make the flag required
//
// A bad, unknown or missing flag prints the usage line to stderr and exits 2
// (bench/CONTRACT.md); --help prints it and exits 0.
import { writeSync } from "node:fs";

export function parse_flags(argv, usage, defaults) {
  const fail = (why) => {
    process.stderr.write(`${why ? why + "\n" : ""}${usage}\n`);
    process.exit(why ? 2 : 0);
  };
  const flags = { ...defaults };
  for (let i = 0; i < argv.length; i += 2) {
    if (argv[i] === "--help" || argv[i] === "-h") fail("");
    const name = argv[i].startsWith("--") ? argv[i].slice(2).replaceAll("-", "_") : null;
    if (name === null || !(name in defaults)) fail(`unknown argument ${argv[i]}`);
    if (i + 1 >= argv.length) fail(`${argv[i]} needs a value`);
    const text = argv[i + 1];
    // Numeric defaults (and required flags given as numbers) parse as numbers.
    const number = Number(text);
    flags[name] = text !== "" && Number.isFinite(number) ? number : text;
    if (typeof defaults[name] === "number" && typeof flags[name] !== "number") {
      fail(`${argv[i]} needs a number, got ${text}`);
    }
  }
  for (const [name, value] of Object.entries(flags)) {
    if (value === null) fail(`--${name.replaceAll("_", "-")} is required`);
  }
  return flags;
}

// Prints one JSON line on stdout, written synchronously so it survives process.exit().
export function print_json(object) {
  writeSync(1, JSON.stringify(object) + "\n");
}
