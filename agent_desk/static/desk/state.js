// What the desk's parts share: the call on screen, and events between the parts.
//   "pop"      detail: a ScreenPop (ringing, connected, completed, draft_ready)
//   "wrapup"   detail: { until } when a call ends and after-call work starts
//   "answer"   detail: { text, article } to put into the direct answer

export const bus = new EventTarget();

export const desk = {
  user: null,
  status: null, // GET /api/agent/status
  pop: null, // the latest screen pop of the call on screen
};

export function emit(name, detail) {
  bus.dispatchEvent(new CustomEvent(name, { detail }));
}

export function on(name, handler) {
  bus.addEventListener(name, (event) => handler(event.detail));
}
