// Runs a list of AWS JS SDK v3 calls against a Sluice server; the same program format as ../scripts/aws_program.py
// ("call" and "wait" entries; "${N.path}" references), with operation names in the SDK's form ("sagemaker.CreatePipeline").
import * as sagemaker from "@aws-sdk/client-sagemaker";
import * as sqs from "@aws-sdk/client-sqs";

const endpoint = process.env.SLUICE_ENDPOINT;
const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
const modules = { sagemaker, sqs };
const clients = {
  sagemaker: new sagemaker.SageMakerClient({ endpoint, region, maxAttempts: 1 }),
  sqs: new sqs.SQSClient({ endpoint, region, maxAttempts: 1 }),
};

const walk = (value, path) => {
  for (const seg of path) value = seg === "@json" ? JSON.parse(value) : value[seg];
  return value;
};
const ref = /\$\{(\d+)((?:\.[^}.]+)*)\}/g;
const subst = (obj, results) => {
  if (typeof obj === "string") {
    const whole = obj.match(/^\$\{(\d+)((?:\.[^}.]+)*)\}$/);
    const get = (n, p) => walk(results[Number(n)].ok, p.split(".").filter((s) => s));
    return whole ? get(whole[1], whole[2]) : obj.replace(ref, (_, n, p) => String(get(n, p)));
  }
  if (Array.isArray(obj)) return obj.map((x) => subst(x, results));
  if (obj && typeof obj === "object") return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, subst(v, results)]));
  return obj;
};
const plain = (obj) => JSON.parse(JSON.stringify(obj, (k, v) => (k === "$metadata" ? undefined : v)));

const call = async (spec, step, results) => {
  const [service, op] = spec.split(".");
  const Command = modules[service][`${op}Command`];
  try {
    return { ok: plain(await clients[service].send(new Command(subst(step.args ?? {}, results)))) };
  } catch (e) {
    return { error: { code: e.name, message: e.message, status: e.$metadata?.httpStatusCode ?? null } };
  }
};

const input = await new Promise((resolve) => {
  let text = "";
  process.stdin.on("data", (d) => (text += d));
  process.stdin.on("end", () => resolve(text));
});
const results = [];
for (const step of JSON.parse(input)) {
  if (step.call) {
    results.push(await call(step.call, step, results));
  } else if (step.wait) {
    const deadline = Date.now() + (step.timeout ?? 30) * 1000;
    for (;;) {
      const r = await call(step.wait, step, results);
      let done = false;
      try {
        const v = walk(r.ok, step.until.path.split("."));
        done = step.until.exists ? v !== undefined : (step.until.in ?? []).includes(v);
      } catch {
        done = false;
      }
      if (done || Date.now() > deadline) {
        r.waited = done;
        results.push(r);
        break;
      }
      await new Promise((res) => setTimeout(res, 100));
    }
  }
}
process.stdout.write(JSON.stringify(results));
