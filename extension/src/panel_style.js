// Styles of the panel; they live inside its shadow root, so Gmail's CSS and ours never mix.
export const PANEL_CSS = `
:host { all: initial; display: block; margin: 8px 0; }
.sb { font: 13px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
  color: #1f2d2a; background: #f6f9f8; border: 1px solid #d5e0dc; border-left: 4px solid #2f6f5e;
  border-radius: 8px; max-width: 640px; }
.sb[data-tone="calm"] { border-left-color: #8aa39b; }
.toggle { all: unset; box-sizing: border-box; display: flex; gap: 8px; align-items: baseline;
  width: 100%; padding: 6px 10px; cursor: pointer; border-radius: 8px; }
.toggle:focus-visible, button:focus-visible, input:focus-visible, summary:focus-visible,
select:focus-visible { outline: 2px solid #1a73e8; outline-offset: 2px; }
.logo { font-weight: 700; color: #2f6f5e; letter-spacing: .01em; }
.summary { color: #4a5a56; font-size: 12px; flex: 1; overflow: hidden; text-overflow: ellipsis;
  white-space: nowrap; }
.chev { color: #4a5a56; font-size: 11px; }
.content { padding: 0 10px 10px; max-height: var(--sb-max, 200px); overflow: auto;
  overscroll-behavior: contain; }
.content[hidden] { display: none; }
/* Folded: the line above plus the one suggested play (its title and Insert), nothing else. */
.sb[data-folded="true"] .content { max-height: none; overflow: visible; padding-bottom: 6px; }
.sb[data-folded="true"] .content > :not(.plays),
.sb[data-folded="true"] .plays > :not(.lead),
.sb[data-folded="true"] .lead .detail,
.sb[data-folded="true"] .lead .preview { display: none; }
.sb[data-folded="true"] .lead { margin: 0; padding: 4px 8px; }
.sb[data-folded="true"] .plays:not(:has(.lead)) { display: none; }
.line { margin: 2px 0 6px; overflow-wrap: anywhere; }
.status { color: #5c4a00; background: #fff6d6; border-radius: 4px; padding: 4px 8px; margin: 0 10px 6px;
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.status:empty { display: none; }
.warnings { margin: 0 0 8px; padding-left: 18px; color: #6b3d00; }
.warnings li { margin: 2px 0; overflow-wrap: anywhere; }
h3 { font-size: 12px; margin: 8px 0 4px; color: #2f6f5e; text-transform: uppercase;
  letter-spacing: .04em; }
.play { background: #fff; border: 1px solid #e1e8e5; border-radius: 6px; padding: 6px 8px;
  margin: 6px 0; }
.play h4 { margin: 0; font-size: 13px; flex: 1; min-width: 0; }
.head { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
.detail { margin-top: 4px; }
.getback h4 { margin-bottom: 2px; }
.play .text { margin: 2px 0 6px; white-space: pre-line; overflow-wrap: anywhere; color: #33413d; }
.actions { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; }
button { font: inherit; font-size: 12px; border: 1px solid #2f6f5e; color: #2f6f5e;
  background: #fff; border-radius: 14px; padding: 3px 10px; cursor: pointer; }
button.primary { background: #2f6f5e; color: #fff; }
button:disabled { opacity: .55; cursor: default; }
label { font-size: 12px; color: #33413d; display: inline-flex; gap: 6px; align-items: center; }
input[type="datetime-local"], select { font: inherit; font-size: 12px; padding: 2px 4px; }
details summary { cursor: pointer; font-weight: 600; }
.pressure ul { margin: 4px 0 0; padding-left: 18px; }
.pressure li { margin: 3px 0; overflow-wrap: anywhere; }
.phrase { font-weight: 600; }
.muted { color: #5c6b67; }
.notice { color: #1e5b2f; margin: 0 10px 6px; min-height: 0; }
.notice:empty { display: none; }
`;
