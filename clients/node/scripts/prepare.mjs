// `npm run prepare`: builds dist/. npm runs it here on `npm ci` and also when another project
// installs this folder (`npm install ./clients/node`); npm installs a folder's devDependencies
// only for the folder's own install, so in the second case the compiler is installed first.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const packageDirectory = fileURLToPath(new URL("..", import.meta.url));
const tsc = fileURLToPath(new URL("../node_modules/typescript/bin/tsc", import.meta.url));

if (!existsSync(tsc)) {
  // The npm running this script (npm_execpath) installs the locked versions, without scripts: no
  // second prepare.
  const npm = process.env["npm_execpath"];
  const command = npm ? [process.execPath, npm] : ["npm"];
  execFileSync(command[0], [...command.slice(1), "ci", "--ignore-scripts", "--no-audit", "--no-fund"], {
    cwd: packageDirectory,
    stdio: "inherit",
  });
}
execFileSync(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: packageDirectory, stdio: "inherit" });
