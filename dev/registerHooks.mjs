// Installs the engine's Node module hooks for modules loaded after this one:
// dev/globHooks.mjs (`import.meta.glob`) and dev/fastPathHooks.mjs (native
// base64, and syscalls that cross as values on instances the engine marks).
import { register } from "node:module";

register("./globHooks.mjs", import.meta.url);
register("./fastPathHooks.mjs", import.meta.url);
