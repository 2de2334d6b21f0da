// The service worker: shows each warning the push service brings as a notification, and
// opens the site when it is tapped. It keeps nothing: no cache, no storage, no fetch
// handler (every page still comes from the server, never from this phone).
"use strict";
self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });
self.addEventListener("push", function (event) {
  var message = {};
  try { message = event.data ? event.data.json() : {}; } catch (e) { message = {}; }
  event.waitUntil(self.registration.showNotification(String(message.title || ""), {
    body: String(message.body || "")
  }));
});
self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  event.waitUntil(self.clients.openWindow("/"));
});
