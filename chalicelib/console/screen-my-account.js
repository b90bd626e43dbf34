// The signed-in user's own sender account (C5), for every level: the same account card as the
// administrator's accounts screen, on `/users/{me}/sender-account` (the API lets a user manage only
// their own; an administrator any user's, from #/accounts), with its test send.
import { fill, h, register, segment } from "./app.js";
import { accountCard, personalAccount } from "./screen-accounts.js";

async function render(main, ctx) {
  const userId = ctx.user.user_id;
  const path = `/users/${segment(userId)}/sender-account`;
  const { account, waiting } = await personalAccount(path);
  const card = accountCard("personal", "my-account", path, account, ctx, {
    testable: true,
    waiting,
    personal: true,
    heading: "Su cuenta personal",
    deletable: true,
    changed: () => render(main, ctx),
    empty: "No tiene cuenta propia: su correo sale de la cuenta del área (o de la general de la empresa).",
    blank: { from_address: ctx.user.email || "" },
  });
  const own = ctx.user.email
    ? `El remitente es su propia dirección, ${ctx.user.email}; solo un administrador puede indicar otra (un buzón compartido, por ejemplo).`
    : "El remitente debe ser su propia dirección, y el directorio del personal no tiene ninguna: pida a un administrador que la cargue.";
  fill(main,
    h("h1", {}, "Mi cuenta de envío"),
    h(
      "p",
      { class: "hint" },
      `Usuario ${userId}. Los pedidos que usted atiende, los recordatorios que cobra y sus respuestas desde el registro salen de esta cuenta; si no la tiene, de la cuenta de la empresa. La contraseña se guarda cifrada y no se vuelve a mostrar.`,
    ),
    h("p", { class: "hint", id: "my-account-own-address" }, own),
    card,
  );
}

register({ id: "my-account", title: "Mi cuenta de envío", group: "Personal", render });
