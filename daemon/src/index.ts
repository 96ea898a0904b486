export { startDaemon, type Daemon } from "./app.js";
export { parseConfig, type Config } from "./base/config.js";
export { createLogger } from "./base/logger.js";
