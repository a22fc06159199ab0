// The preview page of one action: its form rendered by JSONForms from the action's input and UI
// schemas, every change sent to the action's real form-state dispatch and its answer applied as
// the workflow builder applies it (options, disabled, hidden, warning, error, cleared values),
// a side panel of every request and answer, and "Run".
//
// The page reads the action from the JSON in <script id="action"> (id, name, description,
// input_schema, ui_schema, form_state) and calls two routes beside it:
// POST <id>/form_state and POST <id>/run.

import React, { createContext, useCallback, useContext, useEffect, useRef, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { Generate, and, isControl, optionIs, rankWith } from '@jsonforms/core';
import { JsonForms, JsonFormsDispatch, withJsonFormsControlProps } from '@jsonforms/react';
import { vanillaCells, vanillaRenderers } from '@jsonforms/vanilla-renderers';

const action = JSON.parse(document.getElementById('action').textContent);

// The form-state config of the fields, by name (empty inside a nested form).
const FormConfig = createContext({});

const fieldName = (uischema) => (uischema.scope || '').split('/').pop();

const isEmpty = (value) =>
  value === undefined ||
  value === null ||
  value === '' ||
  (typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0);

const same = (a, b) => (isEmpty(a) && isEmpty(b)) || JSON.stringify(a) === JSON.stringify(b);

// The values without the cleared (null or absent) ones, as the builder keeps them.
const present = (values) =>
  Object.fromEntries(Object.entries(values || {}).filter(([, v]) => v !== null && v !== undefined));

// A field's frame: label, description, the control, then the config's warning and error.
function Field({ name, label, description, required, config, children }) {
  if (config.hidden) return null;
  const state = config.error ? 'has-error' : config.warning ? 'has-warning' : '';
  return (
    <div className={`field ${state} ${config.disabled ? 'is-disabled' : ''}`} data-field={name}>
      {label && (
        <label className="field-label" htmlFor={`field-${name}`}>
          {label}
          {required && <span className="required"> *</span>}
        </label>
      )}
      {children}
      {description && <p className="field-description">{description}</p>}
      {config.warning && (
        <p className="field-warning" role="status">
          {config.warning}
        </p>
      )}
      {config.error && (
        <p className="field-error" role="alert">
          {config.error}
        </p>
      )}
    </div>
  );
}

// `"format": "dynamic_select"`: a dropdown whose options come from the form state's config;
// a saved value missing from them stays selected (the answer's warning says why).
function DynamicSelect({ data, handleChange, path, label, description, required, enabled, uischema, schema }) {
  const name = fieldName(uischema);
  const config = useContext(FormConfig)[name] || {};
  const options = config.options || [];
  const multiple = schema.type === 'array';
  const disabled = !enabled || !!config.disabled;
  const known = new Set(options.map((o) => o.value));
  const chosen = multiple ? data || [] : data === undefined || data === null ? '' : data;
  const stale = (multiple ? chosen : chosen === '' ? [] : [chosen]).filter((v) => !known.has(v));
  const onChange = (event) => {
    if (multiple) {
      handleChange(path, Array.from(event.target.selectedOptions, (o) => o.value));
    } else {
      handleChange(path, event.target.value === '' ? undefined : event.target.value);
    }
  };
  return (
    <Field name={name} label={uischema.label ?? label} description={description} required={required} config={config}>
      <select id={`field-${name}`} name={name} multiple={multiple} disabled={disabled} value={chosen} onChange={onChange}>
        {!multiple && <option value="">{disabled ? '—' : 'Select…'}</option>}
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
        {stale.map((v) => (
          <option key={`stale-${v}`} value={v} className="stale">
            {v}
          </option>
        ))}
      </select>
    </Field>
  );
}

// `"format": "dynamic_schema"`: a nested form built from the schema the form state returns.
function DynamicSchema({ data, handleChange, path, label, description, required, enabled, uischema }) {
  const name = fieldName(uischema);
  const config = useContext(FormConfig)[name] || {};
  const schema = config.schema || {};
  const properties = schema.properties || {};
  const disabled = !enabled || !!config.disabled;
  const onChange = ({ data: next }) => {
    if (!same(next, data)) handleChange(path, isEmpty(next) ? undefined : next);
  };
  return (
    <Field name={name} label={uischema.label ?? label} description={description} required={required} config={config}>
      <div className="subform" id={`field-${name}`}>
        {Object.keys(properties).length === 0 ? (
          <p className="subform-empty">
            {disabled ? 'Waits for the fields it depends on.' : 'No fields: the form state returned no schema for this field.'}
          </p>
        ) : (
          <FormConfig.Provider value={{}}>
            <JsonForms
              key={JSON.stringify(schema)}
              schema={schema}
              uischema={Generate.uiSchema(schema)}
              data={data || {}}
              renderers={renderers}
              cells={vanillaCells}
              readonly={disabled}
              validationMode="ValidateAndHide"
              onChange={onChange}
            />
          </FormConfig.Provider>
        )}
      </div>
    </Field>
  );
}

// A string field: a text area with `"multi": true`; `"template": true` marks that the value may
// reference workflow data.
function Text({ data, handleChange, path, label, description, required, enabled, uischema, schema }) {
  const name = fieldName(uischema);
  const config = useContext(FormConfig)[name] || {};
  const options = uischema.options || {};
  const props = {
    id: `field-${name}`,
    name,
    value: data ?? '',
    disabled: !enabled || !!config.disabled,
    maxLength: schema.maxLength,
    onChange: (event) => handleChange(path, event.target.value === '' ? undefined : event.target.value),
  };
  return (
    <Field name={name} label={uischema.label ?? label} description={description} required={required} config={config}>
      {options.multi ? <textarea rows={4} {...props} /> : <input type="text" {...props} />}
      {options.template && (
        <p className="template-hint">
          Template: may reference workflow data, e.g. <code>{'{{ customer.name }}'}</code>
        </p>
      )}
    </Field>
  );
}

// Every other control: the standard JSONForms control, framed so that a config entry for it
// (hidden, disabled, warning, error) applies as to the dynamic ones.
function Framed({ uischema, schema, path, enabled, renderers: all, cells }) {
  const name = fieldName(uischema);
  const config = useContext(FormConfig)[name];
  if (!config) {
    return <JsonFormsDispatch uischema={mark(uischema)} schema={schema} path={path} enabled={enabled} renderers={all} cells={cells} />;
  }
  return (
    <Field name={name} config={config}>
      <JsonFormsDispatch
        uischema={mark(uischema)}
        schema={schema}
        path={path}
        enabled={enabled && !config.disabled}
        renderers={all}
        cells={cells}
      />
    </Field>
  );
}

const mark = (uischema) => ({ ...uischema, options: { ...(uischema.options || {}), previewFramed: true } });

const renderers = [
  ...vanillaRenderers,
  { tester: rankWith(100, and(isControl, optionIs('format', 'dynamic_select'))), renderer: withJsonFormsControlProps(DynamicSelect) },
  { tester: rankWith(100, and(isControl, optionIs('format', 'dynamic_schema'))), renderer: withJsonFormsControlProps(DynamicSchema) },
  {
    tester: rankWith(90, (uischema, schema, context) => {
      if (!isControl(uischema)) return false;
      const options = uischema.options || {};
      if (!options.multi && !options.template) return false;
      const resolved = context?.rootSchema?.properties?.[fieldName(uischema)] || {};
      return resolved.type === 'string';
    }),
    renderer: withJsonFormsControlProps(Text),
  },
  { tester: rankWith(50, (uischema) => isControl(uischema) && !uischema.options?.previewFramed), renderer: Framed },
];

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
const freshId = () => `preview_${hex(crypto.getRandomValues(new Uint8Array(8)))}`;

// Saved values to start from (`?values=<JSON>`), as when a configured step is reopened.
function savedValues() {
  const raw = new URLSearchParams(window.location.search).get('values');
  if (!raw) return {};
  try {
    const values = JSON.parse(raw);
    return values && typeof values === 'object' && !Array.isArray(values) ? values : {};
  } catch {
    return {};
  }
}

async function post(route, body) {
  const started = performance.now();
  const response = await fetch(`${encodeURIComponent(action.id)}/${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  let answer;
  try {
    answer = JSON.parse(text);
  } catch {
    answer = text;
  }
  return { status: response.status, answer, ms: Math.round(performance.now() - started) };
}

function Exchange({ entry, open }) {
  return (
    <details className={`exchange exchange-${entry.kind}`} open={open}>
      <summary>
        <span className="exchange-kind">{entry.kind}</span>
        {entry.note && <span className="exchange-note">{entry.note}</span>}
        <span className={`exchange-status status-${String(entry.status)[0]}xx`}>{entry.status}</span>
        <span className="exchange-ms">{entry.ms} ms</span>
      </summary>
      <h4>request</h4>
      <pre className="exchange-request">{JSON.stringify(entry.request, null, 2)}</pre>
      <h4>response</h4>
      <pre className="exchange-response">{JSON.stringify(entry.response, null, 2)}</pre>
    </details>
  );
}

function App() {
  const [values, setValues] = useState(savedValues);
  const [config, setConfig] = useState({});
  const [log, setLog] = useState([]);
  const [busy, setBusy] = useState(0);
  const [calls, setCalls] = useState(0);
  const [run, setRun] = useState(null);
  const current = useRef(values);
  const queue = useRef(Promise.resolve());
  const pending = useRef(null);

  const record = (entry) => setLog((entries) => [{ ...entry, n: entries.length + 1 }, ...entries]);

  // One form-state call at a time, in order; each answer replaces the values and the config.
  const formState = useCallback((changed) => {
    if (!action.form_state) return;
    setBusy((n) => n + 1);
    queue.current = queue.current.then(async () => {
      const request = { values: present(current.current), changed_field: changed };
      try {
        const { status, answer, ms } = await post('form_state', request);
        record({ kind: 'form_state', note: changed ? `changed ${changed}` : 'initial load', request, response: answer, status, ms });
        if (status === 200) {
          // What the answer changed (cleared or set) is applied on top of the values as they
          // are now, so a change made while the call was out is not lost.
          const before = request.values;
          const after = answer.values || {};
          const next = { ...current.current };
          for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
            if (same(before[key], after[key])) continue;
            if (after[key] === null || after[key] === undefined) delete next[key];
            else next[key] = after[key];
          }
          current.current = next;
          setValues(next);
          setConfig(answer.config || {});
        }
      } catch (error) {
        record({ kind: 'form_state', note: 'failed', request, response: String(error), status: 0, ms: 0 });
      } finally {
        setCalls((n) => n + 1);
        setBusy((n) => n - 1);
      }
    });
  }, []);

  useEffect(() => formState(null), [formState]);

  // A change: which top-level field changed; typing is gathered for a moment into one call.
  const onChange = ({ data }) => {
    const next = data || {};
    const changed = Object.keys({ ...current.current, ...next }).filter((k) => !same(current.current[k], next[k]));
    if (changed.length === 0) return;
    current.current = next;
    setValues(next);
    const field = changed[0];
    // A pending call for another field goes out first; one for this field is replaced.
    if (pending.current) {
      clearTimeout(pending.current.timer);
      if (pending.current.field !== field) formState(pending.current.field);
      pending.current = null;
      setBusy((n) => n - 1);
    }
    if (typeof next[field] === 'string' && !isDynamic(field)) {
      setBusy((n) => n + 1);
      const timer = setTimeout(() => {
        pending.current = null;
        setBusy((n) => n - 1);
        formState(field);
      }, 300);
      pending.current = { field, timer };
    } else {
      formState(field);
    }
  };

  // "Run" uses a fresh request id; "Run again" the last one, to see the replay (or, with other
  // values, the conflict) a platform's retry would get.
  const execute = async (again) => {
    const requestId = again && run?.request_id ? run.request_id : freshId();
    const request = { id: requestId, values: present(current.current) };
    setRun({ running: true, request_id: requestId });
    try {
      const { status, answer, ms } = await post('run', request);
      record({ kind: 'run', note: requestId, request, response: answer, status, ms });
      setRun(status === 200 ? answer : { status, body: answer, request_id: requestId });
    } catch (error) {
      setRun({ status: 0, body: String(error), request_id: requestId });
    }
  };

  return (
    <div className="page" data-busy={busy > 0 ? '1' : '0'} data-calls={calls}>
      <header className="bar">
        <a href="./" className="back">
          All actions
        </a>
        <h1>{action.name}</h1>
        <code className="action-id">{action.id}</code>
        <span className="badge">preview</span>
      </header>
      <div className="columns">
        <main className="form-column">
          {action.description && <p className="action-description">{action.description}</p>}
          <FormConfig.Provider value={config}>
            <div className="form">
              <JsonForms
                schema={action.input_schema}
                uischema={action.ui_schema}
                data={values}
                renderers={renderers}
                cells={vanillaCells}
                validationMode="ValidateAndHide"
                onChange={onChange}
              />
            </div>
          </FormConfig.Provider>
          <section className="run">
            <h2>Run</h2>
            <p className="run-note">
              Executes the values above through the runtime with a fresh request id; runs are kept in the preview's own
              idempotency store.
            </p>
            <div className="run-controls">
              <button id="run" type="button" className="primary" onClick={() => execute(false)} disabled={run?.running}>
                Run
              </button>
              <button id="run-again" type="button" onClick={() => execute(true)} disabled={!run?.request_id || run?.running}>
                Run again with the same id
              </button>
            </div>
            {run && !run.running && (
              <div className={`run-result status-${String(run.status)[0]}xx`}>
                <p id="run-status">
                  <strong>{run.status}</strong>
                  {run.replayed ? ' · replayed from the preview store' : ''} · <code>{run.request_id}</code>
                </p>
                <pre id="run-body">{JSON.stringify(run.body, null, 2)}</pre>
              </div>
            )}
          </section>
        </main>
        <aside className="panel">
          <h2>Requests</h2>
          {log.length === 0 && <p className="panel-empty">{action.form_state ? 'Loading…' : 'This action has no form state.'}</p>}
          {log.map((entry, i) => (
            <Exchange key={entry.n} entry={entry} open={i === 0} />
          ))}
        </aside>
      </div>
    </div>
  );
}

const dynamic = new Set();
(function collect(element) {
  if (!element) return;
  if (element.type === 'Control') {
    const format = element.options?.format;
    if (format === 'dynamic_select' || format === 'dynamic_schema') dynamic.add(fieldName(element));
  }
  (element.elements || []).forEach(collect);
})(action.ui_schema);
const isDynamic = (field) => dynamic.has(field);

createRoot(document.getElementById('root')).render(<App />);
