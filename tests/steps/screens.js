// Small screens (tests/steps/screens.py): run in the page by Selenium's execute_script.
// layoutProblems: what fails on the page at the window's size, one line per offending element.
// The whole file is the body of a function: arguments[0] names the check, the rest are its own.
function layoutProblems(focusToo, W, H) {
  // W x H: the screen's size; a mobile browser lays a page wider than its screen out wider (and
  // shows it zoomed out), so the page is measured against the screen, not its own layout width.
  const out = [];
  const said = (el) => {
    let name = el.tagName.toLowerCase();
    if (el.id) name += "#" + el.id;
    else if (typeof el.className === "string" && el.className.trim()) name += "." + el.className.trim().split(/\s+/).join(".");
    const parent = el.parentElement && !el.id ? el.parentElement : null;
    if (parent) name = (parent.id ? "#" + parent.id : parent.tagName.toLowerCase()) + " > " + name;
    const text = (el.innerText || el.value || el.getAttribute("aria-label") || "").trim().replace(/\s+/g, " ");
    return text ? `${name} ("${text.slice(0, 40)}")` : name;
  };
  const style = (el) => getComputedStyle(el);
  // Out of sight on purpose: not rendered, or shrunk to a pixel for screen readers (visually-hidden,
  // a skip link until it has the focus).
  const memo = (test) => {
    const known = new Map();
    const remembered = (e) => {
      if (!e) return false;
      if (!known.has(e)) known.set(e, test(e) || remembered(e.parentElement));
      return known.get(e);
    };
    return remembered;
  };
  const parked = memo((e) => {
    const r = e.getBoundingClientRect();
    // (right <= 0: parked left of the page, a skip link)
    return (r.width <= 1 && r.height <= 1) || r.right <= 0 || style(e).clipPath === "inset(50%)";
  });
  const hidden = (el) => !el.checkVisibility({ visibilityProperty: true, opacityProperty: false }) || parked(el);
  const clips = (s) => s.overflowX !== "visible" || s.overflowY !== "visible";
  const scrolls = (s) => ["auto", "scroll"].includes(s.overflowX);
  const fixed = memo((e) => style(e).position === "fixed");
  
  // 1. The page does not scroll sideways: what sticks out past the window's right edge (outside a
  //    container that scrolls on its own) is named, the outermost such element of each branch.
  const root = document.scrollingElement;
  if (root.scrollWidth > W) {
    out.push(`page scrolls sideways: ${root.scrollWidth} px wide in a ${W}-px window`);
    const walk = (el) => {
      for (const child of el.children) {
        if (hidden(child)) continue;
        const r = child.getBoundingClientRect();
        if (r.right > W + 0.5 && style(child).position !== "fixed") { out.push(`sticks out past the window (${Math.round(r.right)} px): ${said(child)}`); continue; }
        if (!scrolls(style(child))) walk(child);
      }
    };
    walk(document.body);
  }
  
  // 2. No text cut off (by a box that hides what overflows it) or drawn over other text or a control.
  const texts = [];
  const tw = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = tw.nextNode(); node; node = tw.nextNode()) {
    const el = node.parentElement;
    if (!node.data.trim() || !el || ["SCRIPT", "STYLE", "NOSCRIPT", "OPTION", "TEXTAREA"].includes(el.tagName) || hidden(el)) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    const r = range.getBoundingClientRect();
    if (r.width < 1 || r.height < 1) continue;
    texts.push({ el, r, rects: [...range.getClientRects()].filter((q) => q.width >= 1) });
    let scrolled = false;
    for (let a = el; a && a !== document.body; a = a.parentElement) {
      const s = style(a);
      if (scrolls(s)) { scrolled = true; break; }
      if (clips(s)) {
        const box = a.getBoundingClientRect();
        if (r.right > box.right + 1 || r.left < box.left - 1 || r.bottom > box.bottom + 1 || r.top < box.top - 1) out.push(`text cut off by ${said(a)}: ${said(el)}`);
        scrolled = true;
        break;
      }
    }
    // (a long word runs out of its box, which itself fits: the box is not what sticks out)
    if (!scrolled && r.right > W + 0.5 && !fixed(el)) out.push(`text runs past the window (${Math.round(r.right)} px): ${said(el)}`);
  }
  const controls = [...document.querySelectorAll("input:not([type=hidden]), select, textarea, img")]
    .filter((c) => !hidden(c)).map((c) => ({ el: c, r: c.getBoundingClientRect() }));
  const overlap = (p, q) => Math.min(p.right, q.right) - Math.max(p.left, q.left) > 2 && Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top) > 2;
  const overlaps = new Set();
  for (let i = 0; i < texts.length; i++) {
    const a = texts[i];
    if (fixed(a.el)) continue;
    for (let j = i + 1; j < texts.length; j++) {
      const b = texts[j];
      if (!overlap(a.r, b.r) || fixed(b.el)) continue;
      if (a.rects.some((p) => b.rects.some((q) => overlap(p, q)))) overlaps.add(`text over text: ${said(a.el)} and ${said(b.el)}`);
    }
    for (const c of controls) if (!c.el.contains(a.el) && !a.el.contains(c.el) && a.rects.some((p) => overlap(p, c.r))) overlaps.add(`text over a control: ${said(a.el)} and ${said(c.el)}`);
  }
  out.push(...overlaps);
  
  // 3. Tap targets of 24 x 24 CSS px at least (WCAG 2.2, 2.5.8), except a link inside a sentence and a
  //    smaller target with no other target within a 24-px circle around its centre (the spacing rule).
  const targets = [...document.querySelectorAll("a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button], [tabindex]:not([tabindex='-1'])")]
    .filter((t) => !hidden(t) && !t.disabled).map((t) => ({ el: t, r: t.getBoundingClientRect() }));
  const inSentence = (t) => t.tagName === "A" && style(t).display === "inline" && t.parentElement.textContent.trim().length > t.textContent.trim().length;
  const centre = (r) => [(r.left + r.right) / 2, (r.top + r.bottom) / 2];
  const small = targets.filter((t) => (t.r.width < 23.5 || t.r.height < 23.5) && !inSentence(t.el));
  for (const t of small) {
    const [x, y] = centre(t.r);
    const near = targets.some((o) => {
      if (o === t || o.el.contains(t.el) || t.el.contains(o.el)) return false;
      if (small.includes(o)) { const [u, v] = centre(o.r); return Math.hypot(x - u, y - v) < 24; }
      const dx = Math.max(o.r.left - x, 0, x - o.r.right), dy = Math.max(o.r.top - y, 0, y - o.r.bottom);
      return Math.hypot(dx, dy) < 12;
    });
    if (near) out.push(`tap target ${Math.round(t.r.width)}x${Math.round(t.r.height)} px, too close to others: ${said(t.el)}`);
  }
  
  // 4. A field typed in is at 16 px at least, or iOS zooms the page when it gets the focus.
  for (const f of document.querySelectorAll("input, select, textarea")) {
    if (hidden(f) || ["checkbox", "radio", "range", "color", "file", "submit", "button", "reset", "image", "hidden"].includes(f.type)) continue;
    const size = parseFloat(style(f).fontSize);
    if (size < 16) out.push(`field's text at ${size} px (iOS zooms under 16): ${said(f)}`);
  }
  
  // 5. Dialogs and notices laid over the page fit in the window (or scroll inside).
  for (const d of document.querySelectorAll("dialog[open], [role=dialog], [role=alertdialog], .toast")) {
    if (hidden(d)) continue;
    const r = d.getBoundingClientRect();
    if (r.left < -0.5 || r.right > W + 0.5) out.push(`dialog wider than the window (${Math.round(r.width)} px): ${said(d)}`);
    if (r.height > H + 0.5 && d.scrollHeight <= d.clientHeight) out.push(`dialog taller than the window: ${said(d)}`);
  }
  
  // 6. The focus indicator reads at 3:1 at least against what is behind it (WCAG 1.4.11, 2.4.11).
  const rgba = (c) => { const m = c.match(/[\d.]+/g).map(Number); return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1]; };
  const lum = ([r, g, b]) => { const f = (v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }; return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const ratio = (p, q) => { const [d, l] = [lum(p), lum(q)].sort((a, b) => a - b); return (l + 0.05) / (d + 0.05); };
  const ground = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) { const c = rgba(style(e).backgroundColor); if (c[3] > 0) { layers.push(c); if (c[3] >= 1) break; } }
    let colour = [255, 255, 255];
    for (const [r, g, b, a] of layers.reverse()) colour = [r * a + colour[0] * (1 - a), g * a + colour[1] * (1 - a), b * a + colour[2] * (1 - a)];
    return colour;
  };
  if (focusToo) {
    const before = document.activeElement;
    const seen = new Set();
    for (const t of targets) {
      t.el.focus({ preventScroll: true });
      if (document.activeElement !== t.el) continue;
      const s = style(t.el);
      const width = parseFloat(s.outlineWidth);
      const behind = ground(parseFloat(s.outlineOffset) >= 0 ? t.el.parentElement : t.el);
      const colour = rgba(s.outlineColor);
      const r = ratio(colour, behind);
      let problem = null;
      if (!t.el.matches(":focus-visible")) problem = "no visible focus";
      else if (s.outlineStyle === "none" || width < 2) problem = `focus outline ${s.outlineStyle} ${width} px`;
      else if (r < 3) problem = `focus outline ${s.outlineColor} at ${r.toFixed(2)}:1 on rgb(${behind.map(Math.round)})`;
      const key = problem && `${problem}: ${said(t.el)}`;
      if (key && !seen.has(key)) { seen.add(key); out.push(key); }
    }
    if (before && before.focus) before.focus({ preventScroll: true }); else document.activeElement.blur();
    window.scrollTo(0, 0);
  }
  return out;
}

// menuProblem: every screen of the console's navigation within reach (shown, or behind the menu
// button), or why not.
function menuProblem(W) {
  const nav = document.getElementById("nav");
  if (!nav || !nav.querySelector("a")) return "no navigation";
  const shown = () => [...nav.querySelectorAll("a")].filter((a) => a.checkVisibility() && a.getBoundingClientRect().right <= W + 0.5);
  const all = nav.querySelectorAll("a").length;
  if (shown().length === all) return null;
  const menu = document.getElementById("menu");
  if (!menu || !menu.checkVisibility()) return `${all - shown().length} of ${all} screens out of reach and no menu button`;
  menu.click();
  const after = shown().length, open = menu.getAttribute("aria-expanded");
  menu.click();
  if (after !== all) return `the menu shows ${after} of ${all} screens`;
  if (open !== "true") return `the menu button says aria-expanded=${open} when open`;
  if (menu.getAttribute("aria-expanded") !== "false") return "the menu does not close";
  return null;
}

return arguments[0] === "menu" ? menuProblem(arguments[1]) : layoutProblems(arguments[1], arguments[2], arguments[3]);
