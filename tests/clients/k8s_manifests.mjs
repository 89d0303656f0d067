// Checks rendered Kubernetes manifests offline (deploy/k8s/manifests_test.sh runs it):
//   node k8s_manifests.mjs --rendered=a.yaml,b.yaml --help=router:router.help,... \
//       --metrics=m1.txt,... --external_secrets=baton-tls --adapter=adapter.yaml --alerts=alerts.yaml
// Every object against the Kubernetes API schemas (kubernetes-models), then the references
// between them: Service / PDB / NetworkPolicy selectors match pod labels, HPA targets exist and
// scale on metrics the adapter serves from series the processes export, probe ports are
// container ports, every flag in a command line is one its binary accepts (its --helpfull),
// termination grace covers the workers' drain, dns:/// worker addresses name headless Services,
// every mounted claim / config map exists (secrets: given or listed as external).
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

const args = Object.fromEntries(process.argv.slice(2).map((a) => {
  const eq = a.indexOf('=');
  return [a.slice(2, eq), a.slice(eq + 1)];
}));
const list = (name) => (args[name] ? args[name].split(',').filter(Boolean) : []);

const problems = [];
const problem = (file, what) => problems.push(`${path.basename(file)}: ${what}`);

// Metric names the processes register (string literals "baton_..." in their metrics sources).
const exported = new Set();
for (const file of list('metrics')) {
  for (const m of fs.readFileSync(file, 'utf8').matchAll(/"(baton_[a-z0-9_]+)"/g)) exported.add(m[1]);
}
const isExported = (name) => exported.has(name) ||
  ['_bucket', '_sum', '_count'].some((s) => name.endsWith(s) && exported.has(name.slice(0, -s.length)));
if (exported.size === 0) problems.push('no exported metric names found');

// Flags each binary accepts, from its --helpfull output ("--name (help)").
const accepted = {};
for (const entry of list('help')) {
  const [binary, file] = entry.split(':');
  accepted[binary] = new Set([...fs.readFileSync(file, 'utf8').matchAll(/^\s+--([a-z0-9_]+) /gm)].map((m) => m[1]));
  if (accepted[binary].size < 5) problems.push(`${binary}: could not read its flags`);
}

function checkCommand(file, where, command) {
  if (!command || command.length === 0) return;
  const binary = path.basename(command[0]);
  const flags = accepted[binary];
  if (!flags) {
    problem(file, `${where}: ${binary} is not a baton binary the test knows`);
    return;
  }
  for (const arg of command.slice(1)) {
    const m = /^--([a-z0-9_]+)(=|$)/.exec(arg);
    if (!m) {
      problem(file, `${where}: '${arg}' is not a --flag`);
    } else if (!flags.has(m[1])) {
      problem(file, `${where}: ${binary} has no flag --${m[1]}`);
    }
  }
}

const flagValue = (command, name) => {
  const hit = (command || []).find((a) => a.startsWith(`--${name}=`));
  return hit === undefined ? undefined : hit.slice(name.length + 3);
};

const matches = (selector, labels) => {
  if (!selector) return false;
  for (const [k, v] of Object.entries(selector.matchLabels || {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions || []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    if (e.operator === 'In' && !(has && e.values.includes(labels[e.key]))) return false;
    if (e.operator === 'NotIn' && has && e.values.includes(labels[e.key])) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
};

async function validateSchema(file, doc) {
  const [group, version] = doc.apiVersion.includes('/') ? doc.apiVersion.split('/') : ['', doc.apiVersion];
  const module = group === '' ? `kubernetes-models/${version}` : `kubernetes-models/${group}/${version}`;
  let models;
  try {
    models = await import(module);
  } catch (e) {
    problem(file, `${doc.kind} ${doc.metadata?.name}: no schema for ${doc.apiVersion}`);
    return;
  }
  const Model = models[doc.kind];
  if (!Model) {
    problem(file, `no schema for ${doc.apiVersion} ${doc.kind}`);
    return;
  }
  try {
    new Model(doc).validate();
  } catch (e) {
    problem(file, `${doc.kind} ${doc.metadata?.name}: ${e.message}`);
  }
}

const adapterNames = new Set();
if (args.adapter) {
  const adapter = YAML.parse(fs.readFileSync(args.adapter, 'utf8'));
  for (const rule of adapter.rules || []) {
    for (const m of rule.seriesQuery.matchAll(/baton_[a-z0-9_]+/g)) {
      if (!isExported(m[0])) problem(args.adapter, `series ${m[0]} is not exported by any process`);
    }
    adapterNames.add(rule.name?.as);
  }
}
if (args.alerts) {
  const alerts = YAML.parse(fs.readFileSync(args.alerts, 'utf8'));
  for (const group of alerts.groups) {
    for (const rule of group.rules) {
      for (const m of rule.expr.matchAll(/baton_[a-z0-9_]+/g)) {
        if (!isExported(m[0])) problem(args.alerts, `${rule.alert}: ${m[0]} is not exported by any process`);
      }
    }
  }
}

const externalSecrets = new Set(list('external_secrets'));
let objects = 0;
for (const file of list('rendered')) {
  const docs = YAML.parseAllDocuments(fs.readFileSync(file, 'utf8')).map((d) => d.toJSON()).filter(Boolean);
  objects += docs.length;
  for (const doc of docs) await validateSchema(file, doc);
  const byKind = (kind) => docs.filter((d) => d.kind === kind);
  const workloads = byKind('Deployment');
  const podLabels = workloads.map((d) => d.spec.template.metadata.labels || {});
  const names = (kind) => new Set(byKind(kind).map((d) => d.metadata.name));

  for (const d of workloads) {
    if (!matches(d.spec.selector, d.spec.template.metadata.labels || {})) {
      problem(file, `Deployment ${d.metadata.name}: selector does not match its pod labels`);
    }
    const pod = d.spec.template.spec;
    for (const c of pod.containers) {
      const where = `${d.metadata.name}/${c.name}`;
      const command = [...(c.command || []), ...(c.args || [])];
      checkCommand(file, where, command);
      const ports = new Set((c.ports || []).flatMap((p) => [p.containerPort, p.name]));
      for (const kind of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
        const probe = c[kind];
        if (!probe) continue;
        const port = probe.grpc?.port ?? probe.httpGet?.port ?? probe.tcpSocket?.port;
        if (port !== undefined && !ports.has(port)) problem(file, `${where} ${kind}: port ${port} is not a container port`);
        if (probe.exec) {
          checkCommand(file, `${where} ${kind}`, probe.exec.command);
          const address = flagValue(probe.exec.command, 'address');
          const probePort = address && Number(address.split(':').pop());
          if (!ports.has(probePort)) problem(file, `${where} ${kind}: --address port ${probePort} is not a container port`);
        }
      }
      // The pod gets SIGKILL after terminationGracePeriodSeconds: the drain must end before.
      const grace = flagValue(command, 'shutdown_grace_ms');
      if (grace !== undefined && (pod.terminationGracePeriodSeconds ?? 30) * 1000 < Number(grace) + 5000) {
        problem(file, `${where}: terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} does not cover --shutdown_grace_ms=${grace} plus 5 s`);
      }
      for (const flag of ['decode', 'prefill']) {
        for (const entry of (flagValue(command, flag) || '').split(',').filter(Boolean)) {
          const m = /^dns:\/\/\/([^.:]+)(?:\.([^.:]+))?[^:]*:(\d+)$/.exec(entry);
          if (!m) continue;
          const service = byKind('Service').find((s) => s.metadata.name === m[1]);
          if (!service) {
            problem(file, `${where}: --${flag} names no Service ${m[1]}`);
          } else {
            if (service.spec.clusterIP !== 'None') problem(file, `${where}: Service ${m[1]} is not headless`);
            if (m[2] && m[2] !== service.metadata.namespace) problem(file, `${where}: --${flag} names namespace ${m[2]}, the Service is in ${service.metadata.namespace}`);
            if (!service.spec.ports.some((p) => p.port === Number(m[3]))) problem(file, `${where}: Service ${m[1]} has no port ${m[3]}`);
          }
        }
      }
    }
    for (const v of pod.volumes || []) {
      if (v.persistentVolumeClaim && !names('PersistentVolumeClaim').has(v.persistentVolumeClaim.claimName)) {
        problem(file, `${d.metadata.name}: no PersistentVolumeClaim ${v.persistentVolumeClaim.claimName}`);
      }
      if (v.configMap && !names('ConfigMap').has(v.configMap.name)) problem(file, `${d.metadata.name}: no ConfigMap ${v.configMap.name}`);
      if (v.secret && !names('Secret').has(v.secret.secretName) && !externalSecrets.has(v.secret.secretName)) {
        problem(file, `${d.metadata.name}: no Secret ${v.secret.secretName}`);
      }
    }
  }
  for (const s of byKind('Service')) {
    const selected = workloads.filter((d) => matches({ matchLabels: s.spec.selector }, d.spec.template.metadata.labels || {}));
    if (selected.length === 0) problem(file, `Service ${s.metadata.name}: selects no pods`);
    for (const p of s.spec.ports) {
      const target = p.targetPort ?? p.port;
      const ok = selected.every((d) => d.spec.template.spec.containers.some((c) => (c.ports || []).some((cp) => cp.name === target || cp.containerPort === target)));
      if (!ok) problem(file, `Service ${s.metadata.name}: targetPort ${target} is not a port of its pods`);
    }
  }
  for (const kind of ['PodDisruptionBudget', 'NetworkPolicy']) {
    for (const o of byKind(kind)) {
      const selector = kind === 'NetworkPolicy' ? o.spec.podSelector : o.spec.selector;
      if (!podLabels.some((l) => matches(selector, l))) problem(file, `${kind} ${o.metadata.name}: selects no pods`);
      for (const rule of o.spec.ingress || []) {
        for (const peer of rule.from || []) {
          if (peer.podSelector && !podLabels.some((l) => matches(peer.podSelector, l))) {
            problem(file, `${kind} ${o.metadata.name}: a peer selects no pods`);
          }
        }
      }
    }
  }
  const pools = new Set();
  for (const h of byKind('HorizontalPodAutoscaler')) {
    const target = h.spec.scaleTargetRef;
    if (!docs.some((d) => d.kind === target.kind && d.metadata.name === target.name)) {
      problem(file, `HPA ${h.metadata.name}: no ${target.kind} ${target.name}`);
    }
    pools.add(target.name);
    for (const m of h.spec.metrics || []) {
      const name = m.pods?.metric?.name ?? m.object?.metric?.name ?? m.external?.metric?.name;
      if (name && !adapterNames.has(name)) problem(file, `HPA ${h.metadata.name}: the adapter serves no metric ${name}`);
    }
  }
  for (const pool of ['baton-prefill', 'baton-decode']) {
    if (!pools.has(pool)) problem(file, `no HPA scales ${pool}`);
  }
}
if (objects === 0) problems.push('nothing rendered');
if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`ok: ${objects} objects in ${list('rendered').length} overlays, ${exported.size} exported metric names`);
