/**
 * @sealpost/server — the Sealpost HTTP server: routing with declared schemas (which also generate
 * the OpenAPI description), problem+json errors, session and bearer authentication, structured logs,
 * Prometheus metrics, and the process lifecycle. Domain routes plug in through `Wiring`.
 */
export {
  type ConfigCheck,
  ConfigError,
  type ConfigFile,
  checkConfig,
  resolveConfig,
  type ServerConfig,
} from './config.ts';
export {
  type Access,
  type Authenticator,
  type Authorize,
  CSRF_HEADER,
  clearSessionCookie,
  type Principal,
  type Role,
  SESSION_COOKIE,
  sessionCookie,
} from './http/auth.ts';
export { openApiDocument } from './http/openapi.ts';
export { HTTP_ERROR_CODES, HttpError, type HttpErrorCode, type ProblemDocument, toProblem } from './http/problem.ts';
export {
  type Context,
  defineRoute,
  type Method,
  type Reply,
  type ResponseSpec,
  type Route,
  Router,
} from './http/router.ts';
export { type FieldError, type Infer, type Schema, s, validate } from './http/schema.ts';
export { createLogger, type Logger, type LogLevel, redact } from './logging.ts';
export { main } from './main.ts';
export { type RunningServer, type ServerDeps, type StartOptions, startServer, VERSION, type Wiring } from './server.ts';
export {
  actorOf,
  CSRF_KEY_AAD,
  callerOf,
  createServices,
  type Services,
  type ServicesProvider,
  servicesProvider,
} from './services.ts';
export { accountsAuthenticator, authorizeRoute, domainRoutes, wiring } from './wiring.ts';
