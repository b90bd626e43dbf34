// Push (C7) for administrators: the company's SNS platform application of each platform (Android
// through FCM, iOS through APNs). They are ARNs, not secrets: the platforms' own credentials live in
// SNS, never in Pregón. Saving sets both: a blank one is removed.
import { api, clearErrors, fill, h, register, showErrors, when } from "./app.js";
import { companyFormat } from "./screen-kit.js";

const PLATFORMS = [
  ["fcm_application_arn", "Android (FCM): arn:aws:sns:…:app/GCM/<nombre>"],
  ["apns_application_arn", "iOS (APNs): arn:aws:sns:…:app/APNS/<nombre> o APNS_SANDBOX"],
];

async function render(main, ctx) {
  await companyFormat();
  const settings = await api("GET", "/push/settings");
  const inputs = PLATFORMS.map(([name]) =>
    h("input", { id: `push-${name}`, name, value: settings[name] ?? "", autocomplete: "off", size: "70" }),
  );
  const form = h(
    "form",
    { id: "push-settings-form", "aria-label": "Aplicaciones de push" },
    PLATFORMS.map(([, label], i) => h("span", { class: "field" }, h("label", { for: inputs[i].id }, label), inputs[i])),
    h("button", { type: "submit" }, "Guardar"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const body = {};
    for (const input of inputs) body[input.name] = input.value.trim() || null;
    try {
      // saved only if no one else saved the settings since this screen loaded them
      await api("PUT", "/push/settings", body, { ifMatch: settings.etag });
      ctx.toast("Ajustes de push guardados.");
      await render(main, ctx);
    } catch (error) {
      showErrors(form, error);
    }
  });
  fill(main,
    h("h1", {}, "Ajustes de push"),
    h(
      "p",
      { class: "hint", id: "push-status" },
      settings.updated_at ? `Cambiados ${when(settings.updated_at)} por ${settings.updated_by_name || settings.updated_by || "—"}.` : "Sin configurar.",
      " Las credenciales de Firebase y de Apple se cargan en Amazon SNS; aquí solo se indica qué aplicación de SNS usar. Vacío: sin push para esa plataforma.",
    ),
    h("div", { class: "card" }, form),
  );
}

register({ id: "push", title: "Ajustes de push", group: "Configuración", levels: [1], render });
