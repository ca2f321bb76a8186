// The real better-auth with its jwt() plugin, for tests/e2e/test_better_auth.py:
// an in-memory database, one user signed up into an organization made active,
// and the token better-auth's /api/auth/token would hand the web app, signed
// with the plugin's own key (EdDSA by default). Serves better-auth's handler,
// so /api/auth/jwks is the plugin's own. Installed by scripts/bootstrap --test
// into tests/support/better-auth/node_modules (pinned there).
//
//     node tests/support/better_auth_jwks.mjs [--hs256]
//
// --hs256: the other way the README shows, the same plugin signing HS256
// with BETTER_AUTH_SECRET through its jwt.sign hook (no key set then).
//
// The first stdout line is JSON: {"port", "base_url", "token", "user_id",
// "workspace_id", "session_id"}. It then serves until killed.
import http from "node:http";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const modules = createRequire(new URL("./better-auth/package.json", import.meta.url));
const load = (spec) => import(pathToFileURL(modules.resolve(spec)).href);

const { betterAuth } = await load("better-auth");
const { memoryAdapter } = await load("better-auth/adapters/memory");
const { jwt } = await load("better-auth/plugins/jwt");
const { organization } = await load("better-auth/plugins");
const { toNodeHandler } = await load("better-auth/node");
const { SignJWT } = await load("jose");

const SECRET = "better-auth-test-secret-0123456789-abcdefghij";
const hs256 = process.argv.includes("--hs256");

let handler = (_req, res) => res.writeHead(503).end();
const server = http.createServer((req, res) => handler(req, res));
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const port = server.address().port;
const baseURL = `http://127.0.0.1:${port}`;

const tables = ["user", "session", "account", "verification", "jwks", "organization", "member",
  "invitation"];
const auth = betterAuth({
  baseURL,
  secret: SECRET,
  database: memoryAdapter(Object.fromEntries(tables.map((t) => [t, []]))),
  emailAndPassword: { enabled: true },
  plugins: [
    organization(),
    // As the README's "Using better-auth" shows: the workspace is the active organization.
    jwt({
      // jwt.sign needs a remoteUrl and an alg for the plugin's metadata only.
      ...(hs256 ? { jwks: { remoteUrl: `${baseURL}/api/auth/jwks`, keyPairConfig: { alg: "EdDSA" } } }
        : {}),
      jwt: {
        definePayload: ({ user, session }) => ({
          email: user.email,
          name: user.name,
          sessionId: session.id,
          workspaceId: session.activeOrganizationId,
        }),
        ...(hs256 ? {
          sign: (payload) => new SignJWT(payload).setProtectedHeader({ alg: "HS256", typ: "JWT" })
            .sign(new TextEncoder().encode(SECRET)),
        } : {}),
      },
    }),
  ],
});
handler = toNodeHandler(auth);

const signUp = await auth.api.signUpEmail({
  body: { email: "ba-user@example.com", password: "a-long-test-password-1", name: "BA User" },
  returnHeaders: true,
});
const headers = new Headers({ cookie: signUp.headers.get("set-cookie").split(";")[0] });
const org = await auth.api.createOrganization({ body: { name: "Acme", slug: "acme" }, headers });
await auth.api.setActiveOrganization({ body: { organizationId: org.id }, headers });
const session = await auth.api.getSession({ headers });
const { token } = await auth.api.getToken({ headers });
console.log(JSON.stringify({
  port, base_url: baseURL, token, user_id: session.user.id, workspace_id: org.id,
  session_id: session.session.id, secret: SECRET,
}));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
