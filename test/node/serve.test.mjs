// Drives a device `tandem serve` with the official openai npm package:
// models, completions, chat (a ChatML override on stories260K), streaming
// with usage, stop, and errors. TANDEM_BIN names the binary; the model comes
// from ../shared (TANDEM_SHARED overrides).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = process.env.TANDEM_BIN;
const shared = process.env.TANDEM_SHARED || path.resolve(here, '../../../shared');
const model = path.join(shared, 'models/stories260K/stories260K.gguf');

let server;
let client;
let baseURL;

before(async () => {
  assert.ok(bin, 'set TANDEM_BIN to the tandem binary');
  assert.ok(existsSync(model), `model missing: ${model}`);
  server = spawn(bin, ['serve', '--listen', '127.0.0.1:0', '--no-pull', '--threads', '1',
    '-m', model, '--chat-template', 'chatml', '--context', '256'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  baseURL = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tandem serve did not start:\n${log}`)), 60_000);
    server.stderr.setEncoding('utf8');
    server.stderr.on('data', (chunk) => {
      log += chunk;
      const m = log.match(/tandem serve: listening on (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    server.on('exit', (code) => reject(new Error(`tandem serve exited (${code}):\n${log}`)));
  });
  client = new OpenAI({ baseURL: `${baseURL}/v1`, apiKey: 'none', maxRetries: 0, timeout: 60_000 });
});

after(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server.on('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
});

test('lists the model under its file name', async () => {
  const page = await client.models.list();
  assert.deepEqual(page.data.map((m) => m.id), ['stories260K']);
});

test('completion, greedy', async () => {
  const r = await client.completions.create({ model: 'stories260K', prompt: 'Once upon a time', max_tokens: 12, temperature: 0 });
  assert.equal(r.choices[0].text, ', there was a little girl named Lily. She');
  assert.equal(r.choices[0].finish_reason, 'length');
  assert.deepEqual(r.usage, { prompt_tokens: 5, completion_tokens: 12, total_tokens: 17 });
});

test('completion stream with usage and stop', async () => {
  const stream = await client.completions.create({
    model: 'stories260K', prompt: 'Once upon a time', max_tokens: 50, temperature: 0,
    stop: ['Lily'], stream: true, stream_options: { include_usage: true },
  });
  let text = '';
  let finish;
  let usage;
  for await (const chunk of stream) {
    if (chunk.choices.length > 0) {
      text += chunk.choices[0].text;
      finish = chunk.choices[0].finish_reason ?? finish;
    }
    if (chunk.usage) usage = chunk.usage;
  }
  assert.equal(text, ', there was a little girl named ');
  assert.equal(finish, 'stop');
  assert.ok(usage.completion_tokens > 0 && usage.prompt_tokens === 5);
});

test('chat, streamed and not, agree (greedy)', async () => {
  const params = {
    model: 'stories260K', max_tokens: 16, temperature: 0,
    messages: [{ role: 'system', content: 'You tell stories.' }, { role: 'user', content: 'A story about a dog, please.' }],
  };
  const whole = await client.chat.completions.create(params);
  const msg = whole.choices[0].message;
  assert.equal(msg.role, 'assistant');
  assert.ok(msg.content.length > 0);
  const stream = await client.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } });
  let text = '';
  let chunks = 0;
  let usage;
  for await (const chunk of stream) {
    chunks++;
    assert.equal(chunk.object, 'chat.completion.chunk');
    if (chunk.choices.length > 0) text += chunk.choices[0].delta.content ?? '';
    if (chunk.usage) usage = chunk.usage;
  }
  assert.equal(text, msg.content);
  assert.ok(chunks > 2);
  assert.deepEqual(usage, whole.usage);
});

test('errors have OpenAI shape and status', async () => {
  await assert.rejects(
    client.completions.create({ model: 'nope', prompt: 'x' }),
    (e) => e instanceof OpenAI.NotFoundError && e.code === 'model_not_found',
  );
  await assert.rejects(
    client.completions.create({ model: 'stories260K', prompt: 'x', temperature: 9 }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'temperature',
  );
  await assert.rejects(
    client.completions.create({ model: 'stories260K', prompt: 'Once upon a time '.repeat(80) }),
    (e) => e instanceof OpenAI.BadRequestError && e.code === 'context_length_exceeded',
  );
  const res = await fetch(`${baseURL}/health`);
  assert.equal(res.status, 200);
});
