// Suppliers (D1): the company's suppliers by code, 50 a page; add one (a code in use is refused,
// never replaced) or change one (name and up to ten e-mails; purchase orders go to the first).
import { api, clearErrors, extend, fill, h, register, segment, showErrors, when } from "./app.js";
import { ALL_LEVELS, empty, query, section, table } from "./screen-kit.js";

function editor(supplier, ctx, saved) {
  const s = supplier || { supplier_id: "", name: "", emails: [] };
  const code = h("input", { id: "supplier-code", name: "supplier_id", value: s.supplier_id, required: true, autocomplete: "off" });
  if (supplier) code.readOnly = true;
  const name = h("input", { id: "supplier-name", name: "name", value: s.name, required: true, autocomplete: "off" });
  const emails = h("textarea", { id: "supplier-emails", name: "emails", rows: "3", cols: "40" });
  emails.value = s.emails.join("\n");
  const form = h(
    "form",
    { id: "supplier-form", "aria-label": supplier ? `Proveedor ${s.supplier_id}` : "Agregar un proveedor" },
    h(
      "div",
      { class: "row" },
      h("span", { class: "field" }, h("label", { for: code.id }, "Código"), code),
      h("span", { class: "field" }, h("label", { for: name.id }, "Nombre"), name),
      h("span", { class: "field" }, h("label", { for: emails.id }, "E-mails, uno por línea (las órdenes de compra van al primero)"), emails),
    ),
    h("button", { type: "submit" }, supplier ? "Guardar proveedor" : "Agregar proveedor"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const id = code.value.trim();
    const body = { name: name.value.trim(), emails: emails.value.split(/[\s,;]+/).filter(Boolean) };
    try {
      // an edit is saved only if no one else saved the supplier since it was opened; a new one only
      // creates (If-None-Match: *): a code in use is refused beside the code and replaces nothing
      await api("PUT", `/suppliers/${segment(id)}`, body, supplier ? { ifMatch: supplier.etag } : { ifNoneMatch: "*" });
      ctx.toast(`Proveedor ${id} guardado.`);
      await saved(id);
    } catch (error) {
      // "emails[1]" names one of the list: its message goes next to the one box they are typed in
      const fields = Object.fromEntries(
        Object.entries(error.fields || {}).map(([field, message]) =>
          /^emails\[/.test(field) ? ["emails", `${field}: ${message}`] : [field, message],
        ),
      );
      if (!supplier && error.status === 412) {
        error.status = 409; // shown beside the code, not as "someone else saved it meanwhile"
        fields.supplier_id = fields["If-None-Match"] || error.message;
        delete fields["If-None-Match"];
      }
      showErrors(form, Object.assign(error, { fields }));
    }
  });
  return h("section", { class: "card", id: "supplier" }, h("h2", {}, supplier ? `${s.name} (${s.supplier_id})` : "Agregar un proveedor"), form);
}

async function render(main, ctx) {
  const picked = ctx.params.get("supplier");
  const list = h("div", { id: "suppliers-list" });
  let chosen = null;
  let missing = null;
  if (picked) {
    try {
      chosen = await api("GET", `/suppliers/${segment(picked)}`);
    } catch (error) {
      if (error.status !== 404) throw error;
      missing = h("p", { class: "form-error", role: "alert" }, `No hay un proveedor ${picked}.`);
    }
  }
  async function load(cursor) {
    const page = await api("GET", `/suppliers${query({ limit: 50, cursor })}`);
    list.querySelector(".b-more")?.remove();
    const shown =
      page.items.length
        ? table(
            [
              ["Código", (s) => h("a", { href: `#/suppliers?supplier=${encodeURIComponent(s.supplier_id)}` }, s.supplier_id)],
              ["Nombre", (s) => s.name],
              ["E-mails", (s) => s.emails.join(", ")],
              ["Cambiado", (s) => when(s.updated_at)],
            ],
            page.items,
            { class: "b-table b-suppliers" },
          )
        : cursor
          ? null
          : empty("Todavía no hay proveedores.");
    if (shown) extend(list, shown);
    if (page.next_cursor)
      extend(list, h("button", { type: "button", class: "b-more", onclick: () => load(page.next_cursor) }, "Más"));
  }
  const saved = (id) => {
    const hash = `#/suppliers?supplier=${encodeURIComponent(id)}`;
    if (location.hash !== hash) history.replaceState(null, "", hash);
    return render(main, { ...ctx, params: new URLSearchParams({ supplier: id }) });
  };
  await load();
  const parts = [
    h("h1", {}, "Proveedores"),
    section("Proveedores", list, h("p", {}, h("a", { href: "#/suppliers" }, "Agregar un proveedor"))),
    missing,
    missing ? null : editor(chosen, ctx, saved),
  ];
  fill(main, ...parts.filter(Boolean));
}

register({ id: "suppliers", title: "Proveedores", group: "Trabajo", levels: ALL_LEVELS, render });
