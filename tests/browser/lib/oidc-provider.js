// A real OpenID provider for the tests: npm `oidc-provider` (an OpenID Certified
// implementation) on a loopback port, with its development sign-in pages (any login and
// password is accepted; the login is the account id). Accounts get their claims from
// `accounts`: { 'analist@gemeente.test': { groups: [...], luister_sites: [...] } }.
import http from 'node:http';
import Provider from 'oidc-provider';

export const CLIENT_ID = 'luister-dashboard';
export const CLIENT_SECRET = 'een-geheim-voor-de-test-0123456789';

/** Starts the provider; `redirectUri` is Luister's `/inloggen/sso/terug`. */
export async function startOidcProvider({ redirectUri, accounts }) {
  const server = http.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'groups', 'luister_sites'],
    },
    // The roles travel in the ID token (Entra ID and Keycloak do the same with groups).
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    cookies: { keys: ['oidc-provider-test-cookie-key'] },
    async findAccount(ctx, id) {
      const extra = accounts[id] || {};
      return {
        accountId: id,
        async claims() {
          return { sub: id, email: id, email_verified: true, name: id, ...extra };
        },
      };
    },
  });
  provider.proxy = false;
  server.on('request', provider.callback());
  return {
    issuer,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
