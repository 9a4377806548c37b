// Installs dev/globHooks.mjs: `import.meta.glob` for modules loaded after this one.
import { register } from "node:module";

register("./globHooks.mjs", import.meta.url);
