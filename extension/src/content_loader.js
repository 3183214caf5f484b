// Content scripts cannot be ES modules, so this classic script loads the real one.
(function loadStepback() {
  "use strict";
  import(chrome.runtime.getURL("src/content.js"))
    .then((module) => module.start())
    .catch((error) => {
      // Never let stepback break Gmail; a console line is enough to debug.
      console.warn("stepback could not start:", error);
    });
})();
