// Documents (D1-D3): a client's account statement, bulk statements to a range of clients with the
// job's progress (sent, skipped with the reason), and a sent document's state and download link.
// The document looked up and the job followed are in the address (#/documents?type=order&number=P-1,
// #/documents?job=<id>): a reload or a link opens them again. One the user may not see (a level-4
// user's colleague's, as the API answers: 404) reads "No se encontró ..." in its place.
import { AREA_NAMES, api, errorText, fill, h, progressBar, register, segment, showErrors, toast } from "./app.js";
import {
  ALL_LEVELS,
  attempt,
  companyFormat,
  field,
  fileBase64,
  follow,
  formValues,
  input,
  label,
  requestId,
  section,
  query,
  reveal,
  select,
  textarea,
  when,
} from "./screen-kit.js";

// The document types a person looks up, by the API's code: [name in the list, the name with its article].
const TYPES = {
  statement: ["Estado de cuenta", "el estado de cuenta"],
  order: ["Pedido", "el pedido"],
  purchase_order: ["Orden de compra", "la orden de compra"],
};

// What a refused look-up says in the box of what was asked for: a 404 (no such thing, or another
// user's) in the console's words, anything else as the API says it.
function refusal(err, notFound) {
  return h("p", { class: "form-error", role: "alert" }, err.status === 404 ? notFound : errorText(err));
}

// The documents' settings (D1, D3; seed 003's "Configurar Mailer" and "Comentario estado de
// cuenta"): the sender area statements go out from, the comment printed on every statement, per type
// whether the PDF is deleted once sent, and the logo on the PDFs. Every level reads them (GET); an
// administrator changes them (PATCH /documents/settings, PUT /documents/settings/logo).
function documentSettings(ctx) {
  const box = h("div", { id: "b-document-settings" });
  const admin = ctx.user.level === 1;
  async function draw() {
    const settings = await attempt(() => api("GET", "/documents/settings"));
    if (!settings) return;
    const changed = settings.updated_at ? `Cambiados ${when(settings.updated_at)} por ${settings.updated_by_name || settings.updated_by || "—"}.` : null;
    if (!admin) {
      fill(box,
        h(
          "dl",
          {},
          h("dt", {}, "Cuenta de envío de los estados de cuenta"),
          h("dd", {}, AREA_NAMES[settings.statement_area] || settings.statement_area),
          h("dt", {}, "Comentario en los estados de cuenta"),
          h("dd", {}, settings.statement_comment || "(ninguno)"),
          h("dt", {}, "Logo en los documentos"),
          h("dd", {}, settings.has_logo ? "cargado" : "sin logo"),
        ),
        changed ? h("p", { class: "b-muted" }, changed) : null,
      );
      return;
    }
    const form = h(
      "form",
      {
        class: "b-form",
        id: "b-document-settings-form",
        onsubmit: async (e) => {
          e.preventDefault();
          const body = {
            statement_area: form.elements.statement_area.value,
            statement_comment: form.elements.statement_comment.value.trim(),
            delete_after_sending: Object.fromEntries(Object.keys(TYPES).map((t) => [t, form.elements[`delete_${t}`].checked])),
          };
          // saved only if no one else saved the settings (or the logo) since they were loaded
          if (await attempt(() => api("PATCH", "/documents/settings", body, { ifMatch: settings.etag }), form)) {
            toast("Ajustes de los documentos guardados");
            draw();
          }
        },
      },
      field(
        "Cuenta de envío de los estados de cuenta",
        select("statement_area", Object.entries(AREA_NAMES), settings.statement_area, { id: "b-statement-area" }),
      ),
      field("Comentario en cada estado de cuenta (vacío: ninguno)", textareaWith("statement_comment", settings.statement_comment)),
      h(
        "fieldset",
        {},
        h("legend", {}, "Borrar el PDF una vez enviado"),
        Object.entries(TYPES).map(([t, [name]]) => {
          const box = h("input", { type: "checkbox", name: `delete_${t}`, id: `b-delete-${t}` });
          box.checked = Boolean((settings.delete_after_sending || {})[t]);
          return h("label", { class: "b-check" }, box, ` ${name}`);
        }),
      ),
      h("button", { type: "submit" }, "Guardar"),
    );
    const logoFile = h("input", { type: "file", name: "content_base64", id: "b-document-logo", accept: "image/png,image/jpeg" });
    const logo = h(
      "form",
      {
        class: "b-inline",
        id: "b-document-logo-form",
        onsubmit: async (e) => {
          e.preventDefault();
          const file = logoFile.files[0];
          if (!file) return toast("Elija un archivo PNG o JPEG.", "error");
          const content_base64 = await fileBase64(file);
          if (await attempt(() => api("PUT", "/documents/settings/logo", { content_base64 }, { ifMatch: settings.etag }), logo)) {
            toast("Logo de los documentos guardado");
            draw();
          }
        },
      },
      field(`Logo en los documentos (PNG o JPEG, hasta 300 kB; ${settings.has_logo ? "hay uno cargado" : "sin logo"})`, logoFile),
      h("button", { type: "submit" }, "Cargar logo"),
    );
    fill(box, form, logo, changed ? h("p", { class: "b-muted" }, changed) : null);
  }
  draw();
  return box;
}

// The PDF templates (D1): each type's Typst source, the company's own or the default; a preview PDF
// of the text as typed (saved or not) with sample data, downloaded (the console's policy frames no
// PDF); and, for administrators, save it (refused next to the source when unsafe or when it does not
// render) or go back to the default.
function documentTemplates(ctx) {
  const admin = ctx.user.level === 1;
  const box = h("div", { id: "b-document-templates" });
  const kind = select("template_type", Object.entries(TYPES).map(([t, [name]]) => [t, name]), "statement", { id: "b-template-type" });
  const editor = h("div", {});
  async function open() {
    const type = kind.value;
    const template = await attempt(() => api("GET", `/documents/templates/${segment(type)}`));
    if (!template || kind.value !== type) return; // another type picked meanwhile: its own open() draws it
    const source = textareaWith("source", template.source);
    source.rows = 18;
    source.setAttribute("maxlength", "64000");
    source.readOnly = !admin;
    const form = h(
      "form",
      {
        class: "b-form",
        id: "b-template-form",
        "data-type": type,
        onsubmit: async (e) => {
          e.preventDefault();
          const saved = await attempt(() => api("PUT", `/documents/templates/${segment(type)}`, { source: source.value }), form);
          if (saved) {
            toast(`Plantilla de ${TYPES[type][0].toLowerCase()} guardada`);
            open();
          }
        },
      },
      h("p", { class: "b-muted", id: "b-template-state" }, template.customized ? "Plantilla propia de la empresa." : "Plantilla predeterminada."),
      field("Plantilla (Typst; cada {{ valor }} se escapa)", source),
      h(
        "div",
        { class: "b-actions" },
        h(
          "button",
          {
            type: "button",
            id: "b-template-preview",
            onclick: async () => {
              const answer = await attempt(() => api("POST", `/documents/templates/${segment(type)}/preview`, { source: source.value }), form);
              if (!answer) return;
              const bytes = Uint8Array.from(atob(answer.pdf_base64), (c) => c.charCodeAt(0));
              const link = h("a", { href: URL.createObjectURL(new Blob([bytes], { type: "application/pdf" })), download: `vista-previa-${type}.pdf` });
              document.body.appendChild(link);
              link.click();
              link.remove();
              setTimeout(() => URL.revokeObjectURL(link.href), 10000);
              toast(`Vista previa descargada (${answer.size} bytes)`);
            },
          },
          "Vista previa (PDF)",
        ),
        admin ? h("button", { type: "submit" }, "Guardar plantilla") : null,
        admin && template.customized
          ? h(
              "button",
              {
                type: "button",
                class: "b-danger",
                onclick: async () => {
                  if (!confirm("¿Volver a la plantilla predeterminada? Se pierde la propia.")) return;
                  if (await attempt(() => api("DELETE", `/documents/templates/${segment(type)}`))) open();
                },
              },
              "Volver a la predeterminada",
            )
          : null,
      ),
    );
    fill(editor, form);
  }
  kind.addEventListener("change", open);
  fill(box, field("Documento", kind), editor);
  open();
  return box;
}

function textareaWith(name, value) {
  const area = h("textarea", { name, id: `b-${name}`, rows: "3", maxlength: "2000" });
  area.value = value || "";
  return area;
}

export function bulkProgress(job) {
  const done = job.sent + job.failed + job.skipped;
  const fraction = job.total ? done / job.total : job.state === "done" ? 1 : 0;
  // each reason as the API words it in the console's language ("clientes sin dirección de e-mail"),
  // skipped then failed; an older answer without the sentences shows its codes' labels
  const reasons = [
    ...(job.skip_details || Object.entries(job.skip_reasons || {}).map(([code, count]) => ({ code, count, reason: label(code) }))),
    ...(job.fail_details || []),
  ];
  return h(
    "div",
    { class: "b-job", "data-job": job.job_id, "data-state": job.state },
    progressBar(fraction),
    h(
      "p",
      { class: "b-job-counts" },
      `${Math.round(fraction * 100)} % · total ${job.total} · enviados ${job.sent} · fallidos ${job.failed}` +
        ` · omitidos ${job.skipped} · en espera ${job.waiting} · ${label(job.state)}`,
    ),
    reasons.length
      ? h("ul", {}, reasons.map((r) => h("li", { "data-code": r.code }, `${r.reason}: ${r.count}`)))
      : null,
  );
}

async function render(main, ctx) {
  await companyFormat();
  const bulkStatus = h("div", { "aria-live": "polite", id: "b-bulk-status" });

  async function watch(jobId) {
    // in the address (replaced, not pushed), as a document looked up is: a reload follows this job
    const hash = `#/documents${query({ job: jobId })}`;
    if (location.hash !== hash) history.replaceState(null, "", hash);
    await follow(
      () => `/documents/statements/bulk/${segment(jobId)}`,
      bulkStatus,
      (job) => fill(bulkStatus, h("h3", {}, `Trabajo ${job.job_id}`), bulkProgress(job)),
      (job) => job.state === "done",
      undefined,
      (err) => fill(bulkStatus, refusal(err, `No se encontró el trabajo de estados de cuenta ${jobId}.`)),
    );
  }

  const bulk = h(
    "form",
    {
      class: "b-form",
      id: "b-bulk-statements",
      onsubmit: async (e) => {
        e.preventDefault();
        const values = formValues(bulk);
        const body = { request_id: requestId().slice(0, 64).replace(/[^A-Za-z0-9_.-]/g, "-") };
        for (const k of ["from_client", "to_client", "preferred_agent", "collection_agent", "as_of"]) if (values[k]) body[k] = values[k];
        if (values.include_settled) body.include_settled = true;
        // seed 003's "filtros de parámetros": the client's classification, one field=value a line
        const pairs = (values.classification || "").split("\n").map((l) => l.trim()).filter(Boolean);
        const bad = pairs.find((l) => !/^[^=]+=.+$/.test(l));
        if (bad) {
          showErrors(bulk, { status: 422, fields: { classification: `escriba campo=valor, uno por línea («${bad}» no lo es)` } });
          return;
        }
        if (pairs.length) body.classification = Object.fromEntries(pairs.map((l) => l.split(/=(.*)/s, 2).map((v) => v.trim())));
        const job = await attempt(
          () =>
            api("POST", "/documents/statements/bulk", body).catch((err) => {
              // the API names a classification field by its name (classification.zona): shown at the box
              for (const key of Object.keys(err.fields || {}))
                if (key.startsWith("classification.")) err.fields.classification ??= `${key.slice(15)}: ${err.fields[key]}`;
              throw err;
            }),
          bulk,
        );
        if (job) {
          toast("Envío de estados de cuenta iniciado");
          watch(job.job_id);
        }
      },
    },
    h("p", { class: "b-muted" }, "Un rango vacío es todos los clientes; sólo los que tienen e-mail reciben el suyo, y de ellos los que no tienen movimientos abiertos sólo si se marca \"También a los que no deben nada\"."),
    field("Desde el cliente", input("from_client")),
    field("Hasta el cliente", input("to_client")),
    field("Vendedor preferido", input("preferred_agent")),
    field("Cobrador", input("collection_agent")),
    field("Al día", input("as_of", { type: "date" })),
    field("Clasificación del cliente", textarea("classification", { rows: "2" }), "campo=valor, uno por línea (zona=norte): sólo los clientes que la tienen"),
    h("label", { class: "b-check" }, h("input", { type: "checkbox", name: "include_settled", value: "true" }), " También a los que no deben nada (saldo cero)"),
    h("button", { type: "submit" }, "Enviar estados de cuenta"),
  );

  const oneResult = h("div", { "aria-live": "polite", id: "b-one-statement-sent" });
  const one = h(
    "form",
    {
      class: "b-inline",
      id: "b-one-statement",
      onsubmit: async (e) => {
        e.preventDefault();
        const values = formValues(one);
        const body = { client_id: values.statement_client || "" };
        if (values.statement_as_of) body.as_of = values.statement_as_of;
        fill(oneResult); // nothing of the last client's statement stays beside this one's answer
        const doc = await attempt(
          () =>
            api("POST", "/documents/statements", body).catch((err) => {
              // the API names its own fields (client_id: a client with no e-mail): said beside the form's
              for (const [from, to] of [["client_id", "statement_client"], ["as_of", "statement_as_of"]])
                if (err.fields && from in err.fields) err.fields[to] ??= err.fields[from];
              throw err;
            }),
          one,
        );
        if (doc) {
          // a repeat answers what the first post did, its state then ("En cola") too: not shown as now
          const state = doc.duplicate ? "" : ` · ${label(doc.state)}${doc.error ? ` · ${doc.error}` : ""}`;
          fill(oneResult,
            h("p", {}, `${doc.file_name} → ${doc.to_address || "(sin dirección)"}${state}`),
            // the same statement was sent before today (nothing changed since): not sent again
            doc.duplicate
              ? h(
                  "p",
                  { class: "b-muted" },
                  "Ya se envió hoy este mismo estado de cuenta; para mandarlo otra vez, use Enviar de nuevo en ",
                  h("a", { href: `#/documents${query({ type: "statement", number: doc.number })}` }, "el estado de cuenta enviado"),
                  ".",
                )
              : null,
          );
        }
      },
    },
    field("Cliente", input("statement_client", { required: "" })),
    field("Al día", input("statement_as_of", { type: "date" })),
    h("button", { type: "submit" }, "Enviar su estado de cuenta"),
  );

  const found = h("div", { "aria-live": "polite", id: "b-document-found" });

  async function openDocument(type, number) {
    // in the address (replaced, not pushed), so a reload or a shared link opens it again
    const hash = `#/documents${query({ type, number })}`;
    if (location.hash !== hash) history.replaceState(null, "", hash);
    fill(found); // nothing of the last document stays beside the answer about this one
    // Only a type of the list is asked for: any other (a link's "constructor", or "..", which the
    // browser would resolve to another of the API's paths) is not found.
    const known = Object.hasOwn(TYPES, type);
    const [, named] = known ? TYPES[type] : ["", `el documento (${type})`];
    const notFound = `No se encontró ${named} ${number}.`;
    if (!known) {
      fill(found, refusal({ status: 404 }, notFound));
      return;
    }
    let doc;
    try {
      doc = await api("GET", `/documents/sent/${segment(type)}/${segment(number)}`);
    } catch (err) {
      fill(found, refusal(err, notFound));
      return;
    }
    // where it went and in what state, in the console's words (seed 003: "the order was sent to the
    // client's e-mail"); its e-mail in the history; and, while its PDF is kept, "Enviar de nuevo":
    // the ERP's "Enviar e-mail" pressed again on an order already made (a client or supplier who
    // lost it), the same e-mail and PDF to the same address, as the history's Reenviar
    const state = `e-mail: ${label(doc.message_state) || "?"}${doc.error ? ` (${doc.error})` : ""}`;
    const again = h("p", { "aria-live": "polite", id: "b-document-resent" });
    const resend = h(
      "button",
      {
        type: "button",
        id: "b-document-resend",
        onclick: async () => {
          resend.disabled = true; // a double click sends it once
          fill(again);
          try {
            const answer = await api("POST", "/history/resend", { ids: [doc.communication_id] });
            const [sent] = answer.items;
            fill(again, `Enviado de nuevo a ${sent.to_address} · ${label(sent.state)}`);
          } catch (err) {
            fill(again, refusal(err, `No se encontró ${named} ${number}.`));
            resend.disabled = false;
          }
        },
      },
      "Enviar de nuevo",
    );
    fill(found,
      h(
        "p",
        {},
        `${doc.file_name} · ${doc.recipient_id}${doc.to_address ? ` → ${doc.to_address}` : ""} · ${when(doc.created_at)} · ${state} `,
        doc.download_url
          ? h("a", { href: doc.download_url, rel: "noopener noreferrer", target: "_blank" }, "Descargar PDF")
          : `(archivo borrado ${when(doc.deleted_at)})`,
      ),
      doc.communication_id
        ? h(
            "div",
            { class: "b-actions" },
            h("a", { href: `#/history${query({ channel: "email", message: doc.communication_id })}`, id: "b-document-history" }, "Ver su e-mail en el historial"),
            doc.download_url ? resend : null,
          )
        : null,
      again,
    );
  }

  const lookup = h(
    "form",
    {
      class: "b-inline",
      id: "b-document-lookup",
      onsubmit: (e) => {
        e.preventDefault();
        const values = formValues(lookup);
        openDocument(values.document_type, values.number || "");
      },
    },
    field(
      "Tipo",
      select("document_type", Object.entries(TYPES).map(([code, [name]]) => [code, name])),
    ),
    field("Número", input("number", { required: "" })),
    h("button", { type: "submit" }, "Buscar"),
  );

  // A screen opened on a document (a link from the history, the register, a colleague, the
  // statement's "enviado hoy") shows it first, and the focus is on it: below the bulk statements'
  // form, the clerk had to scroll to find what they had followed the link for.
  const [type, number] = [ctx.params.get("type"), ctx.params.get("number")];
  const opened = Boolean(type && number);
  const documentSection = section("Un documento enviado", lookup, found);
  const sending = [
    section("Estados de cuenta masivos", bulk, bulkStatus),
    section("Estado de cuenta de un cliente", one, oneResult),
  ];
  fill(main,
    h("h1", {}, "Documentos"),
    ...(opened ? [documentSection, ...sending] : [...sending, documentSection]),
    section("Ajustes de los documentos", documentSettings(ctx)),
    section("Plantillas de los PDF", documentTemplates(ctx)),
  );
  if (ctx.params.get("job")) watch(ctx.params.get("job"));
  if (opened) {
    lookup.elements.document_type.value = type;
    lookup.elements.number.value = number;
    // once the screen is on the page (the shell draws it off the page, then puts it in place)
    setTimeout(() => documentSection.isConnected && reveal(documentSection));
    openDocument(type, number);
  }
}

register({ id: "documents", title: "Documentos", group: "Trabajo", levels: ALL_LEVELS, render });
