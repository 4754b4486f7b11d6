// The app-key lives in sessionStorage only: gone when the tab closes, never sent as a cookie,
// never kept in localStorage where every later visit (and every other tab) could read it.
const KEY = "lisoloo.app-key";

export function appKey() {
  return window.sessionStorage.getItem(KEY);
}

export function signIn(key) {
  window.sessionStorage.setItem(KEY, key);
}

export function signOut() {
  window.sessionStorage.removeItem(KEY);
}
