// The Node.js baseline of `benches/http.rs`: the Stripe execute endpoint of the bench action
// with only `http` and `crypto`: `Stripe-Signature` check (HMAC-SHA256, constant-time compare,
// 300 s tolerance), JSON validation as strict as the Rust servers' (no unknown keys, lengths,
// ranges, the enum), an in-memory idempotency map, the same handler output.
//
// Usage: BENCH_SECRET=whsec_... node benches/node_server.js   (prints the port it listens on)
'use strict';
const http = require('http');
const crypto = require('crypto');

const SECRET = process.env.BENCH_SECRET || 'whsec_bench_secret';
const PATH = '/stripe/bench_charge/execute';
const TOLERANCE = 300;
const CURRENCIES = new Set(['eur', 'usd', 'gbp']);
const ENVELOPE_KEYS = new Set(['id', 'custom_input', 'context']);
const INPUT_KEYS = new Set(['customer', 'amount', 'currency', 'note']);
const seen = new Map();

function send(res, status, body) {
  const bytes = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(bytes) });
  res.end(bytes);
}

function error(res, status, type, message) {
  send(res, status, { error: { type, message } });
}

function verify(header, body) {
  if (typeof header !== 'string') return false;
  let t = null;
  const v1 = [];
  for (const entry of header.split(',')) {
    const i = entry.indexOf('=');
    if (i < 0) continue;
    const key = entry.slice(0, i).trim();
    const value = entry.slice(i + 1).trim();
    if (key === 't') t = value;
    else if (key === 'v1' && /^[0-9a-fA-F]*$/.test(value) && value.length % 2 === 0) v1.push(Buffer.from(value, 'hex'));
  }
  if (t === null || !/^[0-9]+$/.test(t)) return false;
  const expected = crypto.createHmac('sha256', SECRET).update(t + '.').update(body).digest();
  const ok = v1.some((sig) => sig.length === expected.length && crypto.timingSafeEqual(sig, expected));
  return ok && Math.abs(Date.now() / 1000 - Number(t)) <= TOLERANCE;
}

function validate(envelope) {
  if (envelope === null || typeof envelope !== 'object' || Array.isArray(envelope)) return null;
  for (const key of Object.keys(envelope)) if (!ENVELOPE_KEYS.has(key)) return null;
  if (typeof envelope.id !== 'string' || envelope.id.length === 0) return null;
  const input = envelope.custom_input;
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return null;
  for (const key of Object.keys(input)) if (!INPUT_KEYS.has(key)) return null;
  const { customer, amount, currency, note } = input;
  if (typeof customer !== 'string') return null;
  const len = [...customer].length;
  if (len < 1 || len > 64) return null;
  if (!Number.isInteger(amount) || amount < 1 || amount > 1000000) return null;
  if (!CURRENCIES.has(currency)) return null;
  if (note !== undefined && note !== null && typeof note !== 'string') return null;
  return { customer, amount, currency, note: note === undefined ? null : note };
}

async function charge(requestId, input) {
  return {
    charge: 'ch_' + requestId,
    customer: input.customer,
    amount: input.amount,
    currency: input.currency,
    noted: input.note !== null,
  };
}

async function execute(req, res, body) {
  if (!verify(req.headers['stripe-signature'], body)) return error(res, 401, 'signature', 'bad signature');
  let envelope;
  try {
    envelope = JSON.parse(body);
  } catch (e) {
    return error(res, 400, 'invalid_input', 'not JSON');
  }
  const input = validate(envelope);
  if (input === null) return error(res, 400, 'invalid_input', 'invalid input');
  const hash = crypto.createHash('sha256').update(JSON.stringify(input)).digest('hex');
  const key = 'stripe:bench_charge:' + envelope.id;
  const entry = seen.get(key);
  if (entry !== undefined) {
    if (entry.hash !== hash) return error(res, 409, 'idempotency_conflict', 'id reused');
    if (entry.body === null) return error(res, 503, 'in_progress', 'retry later');
    return send(res, 200, entry.body);
  }
  seen.set(key, { hash, body: null });
  let output;
  try {
    output = await charge(envelope.id, input);
  } catch (e) {
    seen.delete(key);
    return error(res, 500, 'internal', 'failed');
  }
  const answer = JSON.stringify({ output });
  seen.set(key, { hash, body: answer });
  send(res, 200, answer);
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    if (req.method !== 'POST' || req.url !== PATH) return error(res, 404, 'not_found', 'no route');
    execute(req, res, Buffer.concat(chunks)).catch(() => error(res, 500, 'internal', 'failed'));
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(server.address().port + '\n');
});
