export { startDaemon, type Daemon } from "./app.js";
export { parseConfig, type Config } from "./config.js";
export { createLogger } from "./logger.js";
