/**
 * The Content-Security-Policy the dashboard is served with: by `vite preview`
 * (packages/web/vite.config.ts) as a header, and in the built page as a meta
 * tag, so a host that forgets the header still gets it. It contains a future
 * slip: even if a model's string ever reached markup, no inline script or
 * handler could run.
 *
 * - script-src 'self' 'wasm-unsafe-eval': the page's own modules and
 *   onnxruntime-web's .mjs glue, and compiling its .wasm; no inline script,
 *   no eval.
 * - worker-src 'self' blob:: onnxruntime-web's threads and proxy worker.
 * - connect-src 'self' https: http:: the dashboard loads models from URLs the
 *   user types (only http and https; see loadModel.ts).
 * - style-src 'self': no inline styles in markup; the views set colours and
 *   widths through the CSSOM, which a CSP does not block.
 */
const directives: [string, string][] = [
  ['default-src', "'self'"],
  ['script-src', "'self' 'wasm-unsafe-eval'"],
  ['worker-src', "'self' blob:"],
  ['connect-src', "'self' https: http:"],
  ['style-src', "'self'"],
  ['img-src', "'self' data: blob:"],
  ['object-src', "'none'"],
  ['base-uri', "'none'"],
  ['form-action', "'none'"],
  // honoured only as a header (a meta tag cannot set it)
  ['frame-ancestors', "'self'"],
];

const join = (ds: [string, string][]) => ds.map(([k, v]) => `${k} ${v}`).join('; ');

/** The policy, as the Content-Security-Policy header value. */
export const CONTENT_SECURITY_POLICY = join(directives);

/** The same policy for a <meta http-equiv> tag, less what a meta tag cannot carry. */
export const CONTENT_SECURITY_POLICY_META = join(directives.filter(([k]) => k !== 'frame-ancestors'));

/** Headers for a host serving the dashboard: the policy, and cross-origin isolation so wasm can use threads. */
export const DASHBOARD_HEADERS: Record<string, string> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'X-Content-Type-Options': 'nosniff',
};
