// webqa's visibility pass: runs inside the rendered page (page.evaluate) and returns the page's HTML
// with everything a human reader could not see taken out. Page text is untrusted: hidden text is
// the usual carrier of prompt injections and SEO spam, and Chromium's innerText keeps most of it.
//
// All decisions are made first, on the laid-out page, and the DOM is changed only at the end:
// removing nodes while measuring would force a new layout at every step.
() => {
  const INVISIBLE_CHARS = /[\u200B-\u200F\u202A-\u202E\u2060\u2066-\u2069\uFEFF]/g;
  const DROP_TAGS = new Set(["NOSCRIPT", "TEMPLATE", "SCRIPT", "STYLE"]);
  const doc = document;
  const root = doc.body || doc.documentElement;
  if (!root) return doc.documentElement ? doc.documentElement.outerHTML : "";

  const sx = window.scrollX, sy = window.scrollY;
  const docW = Math.max(doc.documentElement.scrollWidth, window.innerWidth);
  const docH = Math.max(doc.documentElement.scrollHeight, window.innerHeight);

  // Pass 1 (no styles): which elements carry text or a described image. Others need no checks.
  const carries = new WeakSet();
  const mark = (el) => {
    while (el && !carries.has(el)) { carries.add(el); el = el.parentElement; }
  };
  const textWalker = doc.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let t = textWalker.nextNode(); t; t = textWalker.nextNode()) {
    if (t.data.trim()) mark(t.parentElement);
  }
  for (const img of root.querySelectorAll("img[alt], input, select, textarea")) mark(img);

  const styles = new Map();
  const style = (el) => {
    let cs = styles.get(el);
    if (!cs) { cs = getComputedStyle(el); styles.set(el, cs); }
    return cs;
  };

  const parseClipRect = (clip) => {
    const m = clip.match(/rect\(([^)]*)\)/);
    if (!m) return null;
    const v = m[1].split(/[ ,]+/).map(parseFloat);
    return v.length === 4 && v.every((x) => !Number.isNaN(x)) ? v : null;  // top right bottom left
  };

  const boxHidden = (el, cs) => {
    if (cs.display === "none") return true;
    if (parseFloat(cs.opacity) === 0) return true;
    const positioned = cs.position === "absolute" || cs.position === "fixed";
    if (positioned && cs.clip && cs.clip !== "auto") {
      const r = parseClipRect(cs.clip);
      if (r && (r[1] - r[3] <= 1 || r[2] - r[0] <= 1)) return true;
    }
    const cp = cs.clipPath;
    if (cp && cp !== "none" &&
        (/inset\(\s*(?:50|[5-9]\d|100)%/.test(cp) || /(?:circle|ellipse)\(\s*0(?:px)?[\s)]/.test(cp))) {
      return true;
    }
    if (cs.display === "contents") return false;
    const rect = el.getBoundingClientRect();
    const clipped = cs.overflowX !== "visible" || cs.overflowY !== "visible";
    if (clipped && (rect.width <= 1 || rect.height <= 1)) return true;
    if (rect.width > 0 && rect.height > 0) {
      const left = rect.left + sx, top = rect.top + sy;
      if (left + rect.width <= 0 || top + rect.height <= 0 || left >= docW || top >= docH) return true;
    }
    return false;
  };

  // Pass 2: element subtrees to drop.
  const doomed = [];
  const visited = new WeakSet();
  const elWalker = doc.createTreeWalker(root, NodeFilter.SHOW_ELEMENT, {
    acceptNode(el) {
      let hidden = DROP_TAGS.has(el.tagName) || el.hasAttribute("hidden") ||
        el.getAttribute("aria-hidden") === "true";
      if (!hidden && carries.has(el) && el.tagName !== "BR") hidden = boxHidden(el, style(el));
      if (hidden) { doomed.push(el); return NodeFilter.FILTER_REJECT; }
      visited.add(el);
      return NodeFilter.FILTER_ACCEPT;
    },
  });
  visited.add(root);
  while (elWalker.nextNode()) { /* acceptNode does the work */ }

  // Pass 3: text that is laid out but cannot be read.
  const rgba = (s) => {
    const m = s.match(/^rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)(?:\s*[,/]\s*([\d.]+%?))?\s*\)$/);
    if (!m) return null;
    let a = m[4] === undefined ? 1 : parseFloat(m[4]);
    if (m[4] && m[4].endsWith("%")) a /= 100;
    return [+m[1], +m[2], +m[3], a];
  };
  const backgrounds = new Map();
  const background = (el) => {  // the first opaque background behind el; null when an image is in the way
    if (backgrounds.has(el)) return backgrounds.get(el);
    let result = [255, 255, 255, 1];
    if (el) {
      const cs = style(el);
      const bg = rgba(cs.backgroundColor);
      if (cs.backgroundImage && cs.backgroundImage !== "none") result = null;
      else if (bg && bg[3] > 0.5) result = bg;
      else result = background(el.parentElement);
    }
    backgrounds.set(el, result);
    return result;
  };
  const textHidden = (el) => {
    const cs = style(el);
    if (cs.visibility === "hidden" || cs.visibility === "collapse") return true;
    if (parseFloat(cs.fontSize) === 0) return true;
    if (parseFloat(cs.textIndent) <= -999) return true;
    const fg = rgba(cs.color);
    if (!fg) return false;
    if (fg[3] === 0) return true;
    const bg = background(el);
    if (!bg) return false;
    const d = Math.abs(fg[0] - bg[0]) + Math.abs(fg[1] - bg[1]) + Math.abs(fg[2] - bg[2]);
    return d <= 24;
  };
  const textDecision = new Map();
  const deadText = [];
  const cleanText = [];
  const tw = doc.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let t = tw.nextNode(); t; t = tw.nextNode()) {
    const p = t.parentElement;
    if (!p || !visited.has(p)) continue;  // inside a dropped subtree
    if (t.data.trim()) {
      let hide = textDecision.get(p);
      if (hide === undefined) { hide = textHidden(p); textDecision.set(p, hide); }
      if (hide) { deadText.push(t); continue; }
    }
    INVISIBLE_CHARS.lastIndex = 0;
    if (INVISIBLE_CHARS.test(t.data)) cleanText.push(t);
  }
  // Images and form fields under visibility:hidden hide too, though they carry no text node.
  for (const img of root.querySelectorAll("img[alt]")) {
    if (visited.has(img) && style(img).visibility !== "visible") doomed.push(img);
  }

  const comments = [];
  const cw = doc.createTreeWalker(doc.documentElement, NodeFilter.SHOW_COMMENT);
  for (let c = cw.nextNode(); c; c = cw.nextNode()) comments.push(c);

  // Only now change the DOM.
  for (const el of doomed) el.remove();
  for (const t of deadText) t.remove();
  for (const t of cleanText) t.data = t.data.replace(INVISIBLE_CHARS, "");
  for (const c of comments) c.remove();
  for (const el of doc.querySelectorAll("noscript, template")) el.remove();  // also those in <head>
  return doc.documentElement.outerHTML;
}
