// The status catalog (T8): each status's display name, its visibility on the public page (hidden,
// visible, with its reason, with its observation) and whether it is notified.
import { api, clearErrors, fill, h, register, segment, showErrors } from "./app.js";

const VISIBILITY = [
  ["visible", "Visible"],
  ["hidden", "Oculto"],
  ["with_reason", "Con motivo"],
  ["with_observations", "Con observaciones"],
];

function row(item, ctx) {
  const id = `status-${item.code}`;
  const name = h("input", { id: `${id}-name`, name: "display_name", value: item.display_name, required: true, maxlength: 80 });
  const visibility = h(
    "select",
    { id: `${id}-visibility`, name: "visibility" },
    VISIBILITY.map(([value, label]) => h("option", { value, selected: value === item.visibility }, label)),
  );
  const notify = h("input", { type: "checkbox", id: `${id}-notify`, name: "notify", checked: item.notify });
  // A hidden status is never notified, ticked or not (the public must not hear of it): said beside
  // the box as the visibility is picked, as Seguimientos says "sin aviso" of its novelties.
  const hiddenNote = h("span", { class: "hint", id: `${id}-notify-note`, "aria-live": "polite" });
  const noteHidden = () => {
    hiddenNote.textContent = visibility.value === "hidden" ? "oculto: no se avisa" : "";
  };
  noteHidden();
  visibility.addEventListener("change", noteHidden);
  const shown = h("span", { class: "display-name" }, item.display_name);
  let etag = item.etag; // the version this row shows: saved only if no one else saved it since
  const form = h(
    "form",
    { class: "row", id: `${id}-form`, "aria-label": item.code },
    h("span", { class: "field" }, h("label", { for: name.id }, "Nombre visible"), name),
    h("span", { class: "field" }, h("label", { for: visibility.id }, "Visibilidad"), visibility),
    h("span", { class: "field" }, hiddenNote, h("label", { for: notify.id }, notify, " se notifica")),
    h("button", { type: "submit" }, "Guardar"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    try {
      const saved = await api("PUT", `/status-catalog/${segment(item.code)}`, {
        display_name: name.value,
        visibility: visibility.value,
        notify: notify.checked,
      }, { ifMatch: etag });
      etag = saved.etag;
      shown.textContent = saved.display_name;
      ctx.toast(`Estado «${saved.display_name}» guardado.`); // by the name the user reads, not its code
    } catch (error) {
      showErrors(form, error);
    }
  });
  return h("tr", { "data-status": item.code }, h("th", { scope: "row" }, h("code", {}, item.code), h("br"), shown), h("td", {}, form));
}

async function render(main, ctx) {
  const catalog = await api("GET", "/status-catalog");
  fill(main,
    h("h1", {}, "Catálogo de estados"),
    h(
      "p",
      { class: "hint" },
      "Cómo ve cada estado el cliente en la página de seguimiento y en los avisos: los ocultos no se muestran; " +
        "«con motivo» y «con observaciones» muestran además el motivo o la observación.",
    ),
    h(
      "table",
      { id: "status-catalog" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Estado"), h("th", { scope: "col" }, "Configuración"))),
      h("tbody", {}, catalog.items.map((item) => row(item, ctx))),
    ),
  );
}

register({ id: "catalog", title: "Catálogo de estados", group: "Configuración", levels: [1], render });
