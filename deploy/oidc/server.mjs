// A development OpenID provider for the staff pages: the certified `oidc-provider` with its own
// development login screen, demo staff from a JSON file, and RS256 JWT access tokens for the APIs.
// Not for production: sessions, codes and grants live in memory and the password is not checked.
//
// Environment (run as any user: `node deploy/oidc/server.mjs`):
//   OIDC_ISSUER            issuer URL, no trailing slash (default http://127.0.0.1:$OIDC_PORT); the
//                          APIs' JWT_ISSUER must equal it
//   OIDC_HOST, OIDC_PORT   where to listen (default 127.0.0.1 and 8090)
//   OIDC_SIGNING_KEY_FILE  RSA private key PEM, e.g. DIR/jwt-private.pem from `clinic-ops keys DIR`;
//                          published in the JWKS (/jwks) with kid "dev", the kid `clinic-ops token
//                          mint` writes, so both issuers' tokens verify against this one JWKS
//   OIDC_STAFF_FILE        JSON: {"<login>": {"sub": "...", "name": "...", "role": "clinic_manager",
//                          "clinics": ["<clinic uuid>", ...]}, ...}; any other login is refused
//   OIDC_CLIENT_ID         the one client (default clinic-web)
//   OIDC_CLIENT_SECRET     its secret (required)
//   OIDC_CLIENT_AUTH_METHOD  client_secret_basic (default) or client_secret_post
//   OIDC_REDIRECT_URIS     the client's redirect URIs, separated by spaces (required)
//   OIDC_POST_LOGOUT_REDIRECT_URIS  where /session/end may send the browser back to (optional)
//   OIDC_RESOURCE          the APIs' resource indicator (default urn:clinic-platform); every
//                          authorization gets it when the client names none
//   OIDC_AUDIENCE          `aud` of the access tokens (default clinic-platform, the APIs' JWT_AUDIENCE)
//
// Scopes: `openid` (sub, role, clinics) and `profile` (name); the ID token carries them. Access
// tokens (1 hour) are JWTs for OIDC_AUDIENCE with `role` and `clinics`. No refresh tokens, and no
// consent screen: the one client is the platform's own staff app. One log line per request.

import { createPrivateKey, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

import Provider, { errors } from 'oidc-provider';

const KEY_ID = 'dev'; // clinic_shared.auth.mint_token's default key_id
const ROLES = new Set(['patient', 'practitioner', 'front_desk', 'clinic_manager', 'admin']);
const HOUR = 3600;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// A configuration mistake ends the process with one line that names it, not a stack trace.
function refuse(problem) {
  process.stderr.write(`deploy/oidc: ${problem} (the settings are described at the top of server.mjs)\n`);
  process.exit(2);
}

function required(name) {
  return process.env[name] || refuse(`set ${name}`);
}

function list(value) {
  return (value ?? '').split(/\s+/).filter(Boolean);
}

function read(path, what) {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    return refuse(`cannot read the ${what} ${path}: ${error.code ?? error.message}`);
  }
}

function signingKey(path) {
  let key;
  try {
    key = createPrivateKey(read(path, 'signing key'));
  } catch {
    refuse(`${path} is not a PEM private key`);
  }
  if (key.asymmetricKeyType !== 'rsa') {
    refuse(`${path} is not an RSA private key`);
  }
  return { ...key.export({ format: 'jwk' }), kid: KEY_ID, alg: 'RS256', use: 'sig' };
}

// login name -> member; members are found again by `sub`, the session's account id. Checked here,
// so that a typo shows at start-up rather than as tokens the APIs refuse.
function loadStaff(path) {
  let document;
  try {
    document = JSON.parse(read(path, 'staff file'));
  } catch (error) {
    refuse(`${path} is not JSON: ${error.message}`);
  }
  const byLogin = new Map();
  const bySub = new Map();
  for (const [login, member] of Object.entries(document ?? {})) {
    const { sub, name, role, clinics } = member ?? {};
    if (typeof sub !== 'string' || !sub || bySub.has(sub)) {
      refuse(`${path}: "${login}" needs a sub of its own`);
    }
    if (!ROLES.has(role)) {
      refuse(`${path}: "${login}" needs a role, one of ${[...ROLES].join(', ')}`);
    }
    if (!Array.isArray(clinics) || !clinics.every((clinic) => UUID.test(clinic))) {
      refuse(`${path}: "${login}" needs clinics, a list of clinic ids (UUIDs)`);
    }
    const entry = { sub, name: name ?? login, role, clinics };
    byLogin.set(login, entry);
    bySub.set(sub, entry);
  }
  return { byLogin, bySub };
}

const port = Number(process.env.OIDC_PORT ?? 8090);
const host = process.env.OIDC_HOST ?? '127.0.0.1';
const issuer = process.env.OIDC_ISSUER ?? `http://127.0.0.1:${port}`;
const resource = process.env.OIDC_RESOURCE ?? 'urn:clinic-platform';
const audience = process.env.OIDC_AUDIENCE ?? 'clinic-platform';
const authMethod = process.env.OIDC_CLIENT_AUTH_METHOD ?? 'client_secret_basic';
if (!['client_secret_basic', 'client_secret_post'].includes(authMethod)) {
  refuse('OIDC_CLIENT_AUTH_METHOD is client_secret_basic or client_secret_post');
}
const staff = loadStaff(required('OIDC_STAFF_FILE'));
const client = {
  client_id: process.env.OIDC_CLIENT_ID ?? 'clinic-web',
  client_secret: required('OIDC_CLIENT_SECRET'),
  redirect_uris: list(required('OIDC_REDIRECT_URIS')),
  post_logout_redirect_uris: list(process.env.OIDC_POST_LOGOUT_REDIRECT_URIS),
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: authMethod,
};

const provider = new Provider(issuer, {
  clients: [client],
  jwks: { keys: [signingKey(required('OIDC_SIGNING_KEY_FILE'))] },
  // Signs the session cookies; a restart signs everyone out, which suits a development provider.
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  responseTypes: ['code'],
  scopes: ['openid', 'profile'],
  claims: { openid: ['sub', 'role', 'clinics'], profile: ['name'] },
  // The staff app reads role and clinics from the ID token: its access token is for the APIs, so
  // this provider's userinfo endpoint does not accept it.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  // A working day's sign-in; codes and interactions are short-lived.
  ttl: {
    AccessToken: HOUR,
    AuthorizationCode: 60,
    Grant: 12 * HOUR,
    IdToken: HOUR,
    Interaction: HOUR,
    Session: 12 * HOUR,
  },
  features: {
    devInteractions: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      // The token request need not repeat the resource the authorization was granted for.
      useGrantedResource: () => true,
      getResourceServerInfo(ctx, indicator) {
        if (indicator !== resource) {
          throw new errors.InvalidTarget(`the only resource is ${resource}`);
        }
        return {
          scope: '',
          audience,
          accessTokenTTL: HOUR,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  async findAccount(ctx, sub) {
    const member = staff.bySub.get(sub);
    if (!member) {
      return undefined;
    }
    return {
      accountId: member.sub,
      claims: () => ({ sub: member.sub, name: member.name, role: member.role, clinics: member.clinics }),
    };
  },
  async extraTokenClaims(ctx, token) {
    const member = staff.bySub.get(token.accountId);
    return member ? { role: member.role, clinics: member.clinics } : undefined;
  },
  // The platform's own staff app is the only client: everything it may ask for is granted at
  // sign-in, without a consent screen.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    const existing = grantId && (await ctx.oidc.provider.Grant.find(grantId));
    if (existing) {
      return existing;
    }
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid profile');
    grant.addResourceScope(resource, '');
    await grant.save();
    return grant;
  },
});

// The development login form submits the login name as the account id. Staff are known by `sub`
// instead (so the session, the ID token and the access token agree on it), and a login that is
// not in the staff file goes back to the client as access_denied, without a code.
const finishInteraction = provider.interactionFinished.bind(provider);
provider.interactionFinished = (req, res, result, options) => {
  if (!result.login) {
    return finishInteraction(req, res, result, options);
  }
  const member = staff.byLogin.get(result.login.accountId);
  const outcome = member
    ? { ...result, login: { ...result.login, accountId: member.sub } }
    : { error: 'access_denied', error_description: 'unknown login' };
  return finishInteraction(req, res, outcome, options);
};

// One line per request: no query strings or bodies (codes, logins), only what failed and why.
for (const event of ['server_error', 'authorization.error', 'grant.error', 'userinfo.error']) {
  provider.on(event, (ctx, error) => {
    ctx.state.error = error.error_description ? `${error.error}: ${error.error_description}` : String(error);
  });
}
provider.use(async (ctx, next) => {
  const started = performance.now();
  try {
    await next();
  } finally {
    const line = {
      event: 'request',
      method: ctx.method,
      path: ctx.path,
      status: ctx.status,
      duration_ms: Math.round(performance.now() - started),
      ...(ctx.state.error ? { error: ctx.state.error } : {}),
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }
});

const server = provider.listen(port, host, () => {
  process.stdout.write(`${JSON.stringify({ event: 'listening', issuer, host, port })}\n`);
});
server.on('error', (error) => refuse(`cannot listen on ${host}:${port}: ${error.code ?? error.message}`));

function stop() {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  // A browser's keep-alive connection must not hold the shutdown up.
  setTimeout(() => server.closeAllConnections(), 2000).unref();
}
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
