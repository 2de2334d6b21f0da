// The service worker: shows each warning the push service brings as a notification, and
// opens the site when it is tapped. It keeps nothing: no cache, no storage, no fetch
// handler (every page still comes from the server, never from this phone). When the
// browser renews its push subscription by itself, it hands the new one to the site with
// the old one's endpoint and auth secret, so that the member keeps getting warnings.
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
self.addEventListener("pushsubscriptionchange", function (event) {
  var old = event.oldSubscription;
  if (!old) { return; }
  var fresh = event.newSubscription ? Promise.resolve(event.newSubscription)
    : self.registration.pushManager.subscribe(old.options);
  event.waitUntil(fresh.then(function (subscription) {
    var was = old.toJSON();
    return fetch("/api/v1/subscriptions/push/renew", {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({
        old_endpoint: was.endpoint, old_auth: was.keys.auth, push: subscription.toJSON()
      })
    });
  }));
});
self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  event.waitUntil(self.clients.openWindow("/"));
});
