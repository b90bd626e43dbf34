// The staff directory (U1) for administrators: the company's staff with their level, branch,
// department, permissions and whether they are active; add a user or change one (the fields the
// API takes: a blank one is cleared); the company's branches and departments, add or rename one.
import { api, clearErrors, fill, h, register, segment, showErrors } from "./app.js";
import { empty, section, table } from "./screen-kit.js";

const LEVELS = [
  [1, "1 · administrador"],
  [2, "2 · supervisor"],
  [3, "3 · operador"],
  [4, "4 · agente"],
];
const PERMISSIONS = [["change_preferred_agent", "Cambiar agentes preferidos"]];
const UNITS = [
  ["branches", "Sucursales", "branch", "Sucursal"],
  ["departments", "Departamentos", "department", "Departamento"],
];

function levelName(level) {
  return (LEVELS.find(([n]) => n === level) || [level, String(level)])[1];
}

function permissionName(code) {
  return (PERMISSIONS.find(([c]) => c === code) || [code, code])[1];
}

function control(id, label, element) {
  element.id = id;
  return h("span", { class: "field" }, h("label", { for: id }, label), element);
}

function unitOptions(units, value) {
  const known = units.some((u) => u.code === value);
  return [
    h("option", { value: "" }, "(ninguno)"),
    ...units.map((u) => h("option", { value: u.code, selected: u.code === value }, `${u.name} (${u.code})`)),
    // a code the table no longer has still shows, so saving does not change it unseen
    value && !known ? h("option", { value, selected: true }, value) : null,
  ];
}

function userForm(user, units, ctx, redraw) {
  const isNew = !user;
  const u = user || { level: 4, permissions: [], active: true };
  const fields = [
    isNew ? control("staff-user-id", "Usuario (el «sub» de su token, p. ej. su e-mail)", h("input", { name: "user_id", required: true, autocomplete: "off" })) : null,
    control("staff-name", "Nombre", h("input", { name: "name", value: u.name ?? "", autocomplete: "off" })),
    control("staff-email", "E-mail", h("input", { name: "email", type: "email", value: u.email ?? "", autocomplete: "off" })),
    control(
      "staff-level",
      "Nivel",
      h("select", { name: "level" }, LEVELS.map(([n, text]) => h("option", { value: n, selected: n === u.level }, text))),
    ),
    ...UNITS.map(([table, , name, singular]) =>
      control(`staff-${name}`, singular, h("select", { name }, unitOptions(units[table], u[name]))),
    ),
  ];
  const permissions = PERMISSIONS.map(([code, text]) => {
    const box = h("input", { type: "checkbox", id: `staff-permission-${code}`, name: "permissions", value: code, checked: u.permissions.includes(code) });
    return h("label", { for: box.id, class: "b-check" }, box, ` ${text}`);
  });
  const active = h("input", { type: "checkbox", id: "staff-active", name: "active", checked: u.active });
  const form = h(
    "form",
    { id: "staff-user-form", "aria-label": isNew ? "Agregar un usuario" : `Cambiar ${u.user_id}` },
    h("div", { class: "row" }, fields),
    h("fieldset", {}, h("legend", {}, "Permisos"), permissions),
    h("label", { for: active.id, class: "b-check" }, active, " activo (uno inactivo no puede usar Pregón)"),
    h("button", { type: "submit" }, isNew ? "Agregar usuario" : "Guardar usuario"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const value = (name) => form.elements[name].value.trim();
    const userId = isNew ? value("user_id") : u.user_id;
    const body = {
      name: value("name") || null,
      email: value("email") || null,
      level: Number(value("level")),
      branch: value("branch") || null,
      department: value("department") || null,
      // the ones ticked, and any this console has no box for (kept as they are)
      permissions: [
        ...form.querySelectorAll('input[name="permissions"]:checked'),
      ].map((box) => box.value).concat(u.permissions.filter((code) => !PERMISSIONS.some(([known]) => known === code))),
      active: active.checked,
    };
    try {
      if (!userId) throw Object.assign(new Error("Falta el usuario."), { fields: { user_id: "Escriba el usuario." } });
      await api("PUT", `/staff/users/${segment(userId)}`, body);
      ctx.toast(`Usuario ${userId} guardado.`);
      await redraw(userId);
    } catch (error) {
      showErrors(form, error);
    }
  });
  return h(
    "section",
    { class: "card", id: "staff-user", "data-user": u.user_id || "" },
    h("h2", {}, isNew ? "Agregar un usuario" : `${u.name || u.user_id} (${u.user_id})`),
    isNew ? null : h("p", { class: "hint" }, u.source === "token" ? "Agregado al ingresar por primera vez." : "Agregado por un administrador o un sistema de la empresa."),
    form,
  );
}

function unitSection(kind, title, items, ctx, redraw) {
  const code = h("input", { id: `unit-${kind}-code`, name: "code", required: true, autocomplete: "off" });
  const name = h("input", { id: `unit-${kind}-name`, name: "name", required: true, autocomplete: "off" });
  const form = h(
    "form",
    { id: `unit-${kind}-form`, class: "row", "aria-label": `${title}: agregar o renombrar` },
    h("span", { class: "field" }, h("label", { for: code.id }, "Código"), code),
    h("span", { class: "field" }, h("label", { for: name.id }, "Nombre"), name),
    h("button", { type: "submit" }, "Agregar o renombrar"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    try {
      await api("POST", `/staff/units/${segment(kind)}`, { code: code.value.trim(), name: name.value.trim() });
      ctx.toast(`${title}: ${code.value.trim()} guardado.`);
      await redraw();
    } catch (error) {
      showErrors(form, error);
    }
  });
  const list = items.length
    ? table(
        [
          ["Código", (unit) => unit.code],
          ["Nombre", (unit) => unit.name],
        ],
        items,
        { class: "b-table", id: `unit-${kind}` },
      )
    : empty(`Todavía no hay ${title.toLowerCase()}.`);
  return section(title, list, form);
}

async function render(main, ctx) {
  const [users, ...unitAnswers] = await Promise.all([
    api("GET", "/staff/users"),
    ...UNITS.map(([table]) => api("GET", `/staff/units/${segment(table)}`)),
  ]);
  const units = Object.fromEntries(UNITS.map(([table], i) => [table, unitAnswers[i].items]));
  const picked = ctx.params.get("user");
  const redraw = (userId) => {
    const hash = userId ? `#/staff?user=${encodeURIComponent(userId)}` : location.hash;
    if (location.hash !== hash) history.replaceState(null, "", hash);
    return render(main, { ...ctx, params: new URLSearchParams(hash.split("?")[1] || "") });
  };
  const chosen = picked ? users.items.find((u) => u.user_id === picked) : null;
  const unitName = (table, code) => (units[table].find((unit) => unit.code === code) || { name: code }).name;
  const list = table(
    [
      ["Usuario", (u) => h("a", { href: `#/staff?user=${encodeURIComponent(u.user_id)}` }, u.user_id)],
      ["Nombre", (u) => u.name],
      ["E-mail", (u) => u.email],
      ["Nivel", (u) => levelName(u.level)],
      ["Sucursal", (u) => (u.branch ? unitName("branches", u.branch) : "")],
      // notes are written from a department (N1): an active user without one cannot write any yet
      ["Departamento", (u) => (u.department ? unitName("departments", u.department) : u.active ? h("span", { class: "credit-warning" }, "Sin departamento: no puede escribir notas") : "")],
      ["Permisos", (u) => u.permissions.map(permissionName).join(", ")],
      ["Estado", (u) => (u.active ? "Activo" : "Inactivo")],
    ],
    users.items,
    { class: "b-table", id: "staff-users" },
  );
  const withoutDepartment = users.items.filter((u) => u.active && !u.department);
  [...list.querySelectorAll("tbody tr")].forEach((row, i) => row.setAttribute("data-user", users.items[i].user_id));
  const parts = [
    h("h1", {}, "Personal de la empresa"),
    h(
      "p",
      { class: "hint" },
      "Cada usuario se agrega solo al ingresar por primera vez, con el nivel de su token; desde entonces vale lo que diga este directorio.",
    ),
    section(
      "Usuarios",
      withoutDepartment.length
        ? h(
            "p",
            { class: "hint", id: "staff-without-department" },
            withoutDepartment.length === 1
              ? "Un usuario activo no tiene departamento: no puede escribir notas hasta que usted le asigne uno (elíjalo en la lista y complete Departamento)."
              : `${withoutDepartment.length} usuarios activos no tienen departamento: no pueden escribir notas hasta que usted les asigne uno (elija cada uno en la lista y complete Departamento).`,
          )
        : null,
      list,
      h("p", {}, h("a", { href: "#/staff?user=" }, "Agregar un usuario")),
    ),
    picked === null || (picked && !chosen) ? null : userForm(chosen, units, ctx, redraw),
    picked && !chosen ? h("p", { class: "form-error", role: "alert" }, `No hay un usuario ${picked}: agréguelo arriba.`) : null,
    ...UNITS.map(([table, title]) => unitSection(table, title, units[table], ctx, () => redraw())),
  ];
  fill(main, ...parts.filter(Boolean));
}

register({ id: "staff", title: "Personal de la empresa", group: "Configuración", levels: [1], render });
