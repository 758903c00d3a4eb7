// A real OpenID Provider for the identity tests (npm oidc-provider 9), on 127.0.0.1 only.
// Usage: node op.mjs '<json config>'  (port, issuer, clients, accounts).
// Test control endpoints (this test OP only):
//   POST /test/next-login {accountId, acr}  who logs in at the next interaction, at which acr
//   POST /test/tamper {claim: value, ...}    re-sign the next token response's id_token with these
//                                             claims changed (wrong aud, expired, other nonce)
import http from 'node:http';
import Provider from 'oidc-provider';
import * as jose from 'jose';

const config = JSON.parse(process.argv[2]);
const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await jose.exportJWK(privateKey)), kid: 'test-signing-1', alg: 'RS256', use: 'sig' };

let nextLogin = { accountId: 'adult', acr: 'http://id.elegnamnden.se/loa/1.0/loa3' };
let tamper = null;

const provider = new Provider(config.issuer, {
  clients: config.clients,
  jwks: { keys: [jwk] },
  cookies: { keys: ['identity-tests-cookie-key'] },
  findAccount: (ctx, id) => {
    const account = config.accounts[id];
    if (!account) return undefined;
    return { accountId: id, claims: () => ({ sub: id, ...account }) };
  },
  claims: {
    openid: ['sub', 'pid', 'acr', 'amr'],
    profile: ['given_name', 'family_name', 'name'],
  },
  conformIdTokenClaims: false,
  acrValues: [
    'http://id.elegnamnden.se/loa/1.0/loa2',
    'http://id.elegnamnden.se/loa/1.0/loa3',
    'http://id.elegnamnden.se/loa/1.0/loa4',
    'idporten-loa-substantial',
    'idporten-loa-high',
  ],
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: { enabled: true },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
});

// Re-sign the id_token of the next token response with altered claims: the token is still
// signed by this OP's key, so only the relying party's claim checks can refuse it.
provider.use(async (ctx, next) => {
  await next();
  if (ctx.path === '/token' && tamper && ctx.body && ctx.body.id_token) {
    const claims = { ...jose.decodeJwt(ctx.body.id_token), ...tamper };
    tamper = null;
    ctx.body = {
      ...ctx.body,
      id_token: await new jose.SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: jwk.kid }).sign(privateKey),
    };
  }
});

async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name === 'login') {
    await provider.interactionFinished(req, res, {
      login: { accountId: nextLogin.accountId, acr: nextLogin.acr, amr: ['test'] },
    }, { mergeWithLastSubmission: false });
    return;
  }
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
  const missing = details.prompt.details;
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  if (missing.missingResourceScopes) {
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes)) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
  }
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

async function readJson(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return JSON.parse(body || '{}');
}

const callback = provider.callback();
const server = http.createServer(async (req, res) => {
  try {
    if (req.url.startsWith('/interaction/')) {
      await interaction(req, res);
    } else if (req.method === 'POST' && req.url === '/test/next-login') {
      nextLogin = await readJson(req);
      res.writeHead(204).end();
    } else if (req.method === 'POST' && req.url === '/test/tamper') {
      tamper = await readJson(req);
      res.writeHead(204).end();
    } else {
      callback(req, res);
    }
  } catch (error) {
    res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error));
  }
});
server.listen(config.port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${config.issuer}`);
});
