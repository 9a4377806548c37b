// One of the soak's shards, run in parallel with the others (oracleSoak.ts).
import { soakShard } from "./oracleSoak.js";

soakShard(0);
