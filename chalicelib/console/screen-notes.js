// Client notes (N1-N3): write a note on a client, a client's notes, and the notes report with its
// filters, options and Excel file. Who sees which notes is the API's rule (N2): level 1 the company,
// 2 its branch, 3 its department, 4 its own. From the report, a note's author edits it and an
// administrator (level 1: "Solo el nivel 1 ... podrá eliminar las notas") deletes it.
import { api, extend, fill, h, register, segment, toast } from "./app.js";
import {
  ALL_LEVELS,
  attempt,
  companyFormat,
  empty,
  field,
  formValues,
  input,
  query,
  reveal,
  section,
  select,
  table,
  textarea,
  when,
  downloadExcel,
} from "./screen-kit.js";

const REPORT_FILTERS = ["client", "branch", "department", "user", "from", "to", "last_three", "group_by"];

function unitOptions(answer, all) {
  return [["", all], ...((answer && answer.items) || []).map((u) => [u.code, u.name])];
}

// The company's branches and departments by code (loaded at each render): a note's branch and
// department show by name, as the filters above offer them (a code the directory no longer has, as is).
const unitNames = { branch: {}, department: {} };

const noteColumns = [
  ["Fecha", (n) => when(n.created_at)],
  ["Cliente", (n) => (n.client_name ? `${n.client_name} (${n.client_id})` : n.client_id)],
  ["Autor", (n) => n.author_name || n.author],
  ["Sucursal", (n) => (n.branch && unitNames.branch[n.branch]) || n.branch],
  ["Departamento", (n) => (n.department && unitNames.department[n.department]) || n.department],
  ["Nota", (n) => n.note],
  ["Ubicación", (n) => n.location],
  ["Tratamiento", (n) => n.treatment],
];

async function render(main, ctx) {
  await companyFormat();
  const [branches, departments, staffUsers] = await Promise.all([
    attempt(() => api("GET", "/staff/units/branches")),
    attempt(() => api("GET", "/staff/units/departments")),
    ctx.user.level === 1 ? attempt(() => api("GET", "/staff/users")) : null, // administrators only
  ]);
  // The report's "Usuario" filter (seed 001's "Recurso Humano") takes a user's id, while the report
  // shows authors by name: the field suggests each user by name, from the staff directory (to an
  // administrator) and from the authors of every note the report showed.
  const people = new Map(((staffUsers && staffUsers.items) || []).map((u) => [u.user_id, u.name || u.user_id]));
  for (const [kind, answer] of [["branch", branches], ["department", departments]])
    unitNames[kind] = Object.fromEntries(((answer && answer.items) || []).map((u) => [u.code, u.name]));
  const peopleList = h("datalist", { id: "b-note-users" });
  function drawPeople() {
    fill(peopleList, ...[...people].map(([id, name]) => h("option", { value: id, label: name }, name)));
  }
  drawPeople();

  const write = h(
    "form",
    {
      class: "b-form",
      id: "b-write-note",
      onsubmit: async (e) => {
        e.preventDefault();
        const values = formValues(write);
        const body = { note: values.note || "" };
        for (const k of ["location", "treatment"]) if (values[k]) body[k] = values[k];
        const saved = await attempt(() => api("POST", `/clients/${segment(values.note_client || "")}/notes`, body), write);
        if (saved) {
          toast("Nota guardada");
          write.reset();
          report();
        }
      },
    },
    field("Cliente", input("note_client", { required: "", value: ctx.params.get("client") || "" })),
    field("Nota", textarea("note", { required: "", maxlength: "4000" })),
    field("Ubicación física", input("location", { maxlength: "500" })),
    field("Tratamiento", input("treatment", { maxlength: "500" })),
    h("button", { type: "submit" }, "Guardar nota"),
  );

  const filters = h(
    "form",
    {
      class: "b-form b-filters",
      id: "b-notes-filters",
      onsubmit: (e) => {
        e.preventDefault();
        report();
      },
    },
    // a client asked for in the address (the client's page links here): the report shows their notes
    field("Cliente", input("client", { value: ctx.params.get("client") || "" })),
    field("Sucursal", select("branch", unitOptions(branches, "(todas)"))),
    field("Departamento", select("department", unitOptions(departments, "(todos)"))),
    field("Usuario", input("user", { list: "b-note-users", autocomplete: "off" })),
    peopleList,
    field("Desde", input("from", { type: "date" })),
    field("Hasta", input("to", { type: "date" })),
    h("label", { class: "b-check" }, h("input", { type: "checkbox", name: "last_three", value: "true" }), " Sólo las tres últimas de cada cliente"),
    h("label", { class: "b-check" }, h("input", { type: "checkbox", name: "group_by", value: "department" }), " Agrupar por departamento"),
    h("button", { type: "submit" }, "Ver informe"),
  );
  const editBox = h("div", { id: "b-note-edit" });

  // The actions a row offers: the API lets the author edit a note and level 1 delete one (N2).
  function actions(n) {
    const name = `la nota del ${when(n.created_at)} sobre ${n.client_id}`;
    return h(
      "span",
      { class: "b-actions" },
      n.author === ctx.user.user_id
        ? h("button", { type: "button", class: "b-edit-note", "aria-label": `Editar ${name}`, onclick: () => edit(n) }, "Editar")
        : null,
      ctx.user.level === 1
        ? h("button", { type: "button", class: "b-danger b-delete-note", "aria-label": `Eliminar ${name}`, onclick: () => remove(n) }, "Eliminar")
        : null,
    );
  }

  function edit(n) {
    const form = h(
      "form",
      {
        class: "b-form",
        onsubmit: async (e) => {
          e.preventDefault();
          const values = formValues(form);
          const body = { note: values.note || "", location: values.location || null, treatment: values.treatment || null };
          const path = `/clients/${segment(n.client_id)}/notes/${segment(n.note_id)}`;
          // saved only if no one else saved the note since the report listed it
          if (await attempt(() => api("PATCH", path, body, { ifMatch: n.etag }), form)) {
            toast("Nota guardada");
            fill(editBox);
            report();
          }
        },
      },
      h("h3", {}, `Editar la nota del ${when(n.created_at)} sobre ${n.client_id}`),
      field("Nota", textarea("note", { required: "", maxlength: "4000", id: "b-edit-note-text" })),
      field("Ubicación física", input("location", { maxlength: "500", id: "b-edit-note-location", value: n.location || "" })),
      field("Tratamiento", input("treatment", { maxlength: "500", id: "b-edit-note-treatment", value: n.treatment || "" })),
      h("button", { type: "submit" }, "Guardar cambios"),
      h("button", { type: "button", onclick: () => fill(editBox) }, "Cancelar"),
    );
    form.elements.note.value = n.note || "";
    fill(editBox, form);
    reveal(editBox);
  }

  async function remove(n) {
    if (!confirm(`¿Eliminar la nota del ${when(n.created_at)} sobre ${n.client_id}? No se puede deshacer.`)) return;
    const path = `/clients/${segment(n.client_id)}/notes/${segment(n.note_id)}`;
    if ((await attempt(() => api("DELETE", path))) !== undefined) {
      toast("Nota eliminada");
      fill(editBox);
      report();
    }
  }
  // A person typed by name in "Usuario" (as the report's "Autor" shows them) is asked for by their
  // user id, which is what the API filters on: a name that is not an id found no note before.
  function userId(typed) {
    if (!typed || people.has(typed)) return typed;
    const wanted = typed.trim().toLocaleLowerCase();
    const named = [...people].filter(([, name]) => name.trim().toLocaleLowerCase() === wanted);
    return named.length === 1 ? named[0][0] : typed;
  }
  const criteria = () => {
    const values = formValues(filters);
    const picked = {};
    for (const k of REPORT_FILTERS) if (values[k]) picked[k] = values[k];
    if (picked.user) picked.user = userId(picked.user);
    return picked;
  };
  const rows = h("div", { id: "b-notes-report" });
  const notesExporting = h("div", { id: "b-notes-exporting", role: "status", "aria-live": "polite" });
  let lastGroup; // the department the grouped report's last shown row is in ("Más" may continue it)

  // "Agrupar por departamento" (seed 001): the API answers the rows in department order; each
  // department opens with its own heading, as the Excel file's group rows do. A page that goes
  // on with the department the previous one ended in adds its rows under that heading.
  function grouped(items) {
    const runs = [];
    for (const n of items) {
      const key = n.department || "";
      if (!runs.length || runs[runs.length - 1].key !== key) runs.push({ key, items: [] });
      runs[runs.length - 1].items.push(n);
    }
    return runs.map((run) => {
      const continues = run.key === lastGroup;
      lastGroup = run.key;
      const title = run.key ? `Departamento: ${unitNames.department[run.key] || run.key}` : "Sin departamento";
      return h(
        "section",
        { class: "b-group", "data-department": run.key },
        continues ? null : h("h3", {}, title),
        table([...noteColumns, ["", actions]], run.items),
      );
    });
  }

  async function report(cursor) {
    const asked = criteria();
    const page = await attempt(() => api("GET", `/notes/report${query({ ...asked, limit: 100, cursor })}`), filters);
    if (!page) {
      // refused (a filter named beside it): the rows of the report asked for before must not stand
      // under the new filters as if they were its answer
      if (!cursor) fill(rows);
      return;
    }
    if (!cursor) {
      fill(rows);
      lastGroup = undefined;
    }
    rows.querySelector(".b-more")?.remove();
    const before = people.size;
    for (const n of page.items) if (!people.has(n.author)) people.set(n.author, n.author_name || n.author);
    if (people.size !== before) drawPeople();
    // a big client's report reads a bounded part of the notes a page: one may come back empty with a cursor
    if (!page.items.length && page.next_cursor) extend(rows, empty("Ninguna en esta parte de las notas; «Más» sigue buscando en las siguientes."));
    else if (!page.items.length) extend(rows, cursor ? null : empty("Ninguna nota con estos filtros."));
    else if (asked.group_by === "department") extend(rows, ...grouped(page.items));
    else extend(rows, table([...noteColumns, ["", actions]], page.items));
    if (page.next_cursor)
      extend(rows, h("button", { type: "button", class: "b-more", onclick: () => report(page.next_cursor) }, "Más"));
  }

  fill(main,
    h("h1", {}, "Notas"),
    section("Nueva nota", write),
    section(
      "Informe de notas",
      filters,
      h(
        "button",
        {
          type: "button",
          id: "b-notes-export",
          // past 10,000 rows the export is built in the background (screen-kit's downloadExcel)
          onclick: () =>
            downloadExcel({
              file: `/notes/report/export${query(criteria())}`,
              name: "informe-de-notas.xlsx",
              exports: "/notes/report/exports",
              filters: criteria(),
              box: notesExporting,
              rows: ["notas", "las", "escritas"],
              ids: "b-notes",
            }),
        },
        "Descargar Excel",
      ),
      notesExporting,
      rows,
      editBox,
    ),
  );
  await report();
}

register({ id: "notes", title: "Notas", group: "Trabajo", levels: ALL_LEVELS, render });
