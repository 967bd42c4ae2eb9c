// Run a Python script in real Pyodide under Node, with a local wheel installed; no browser.
// Usage: node pyodide_node.mjs PYODIDE_DIR WHEEL SCRIPT
// PYODIDE_DIR is the npm package `pyodide` unpacked (the core only: no numpy and friends).
// Prints "RESULT <value of the script's last expression>" on the last line.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [dir, wheel, script] = process.argv.slice(2);
const { loadPyodide } = await import(pathToFileURL(`${dir}/pyodide.mjs`).href);
const pyodide = await loadPyodide({ indexURL: `${dir}/` });
pyodide.unpackArchive(new Uint8Array(readFileSync(wheel)), "wheel");
const result = await pyodide.runPythonAsync(readFileSync(script, "utf8"));
console.log(`RESULT ${result}`);
