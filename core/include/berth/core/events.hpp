// The daemon's event bus, behind GET /events (DESIGN §2): what happened to
// containers, images and the daemon, as Docker's events.Message.
//
// Producers publish() from whatever thread did the work; the bus stamps the
// time, keeps the last `history_limit` events (Docker keeps a bounded buffer
// too, so `since` reaches back only so far) and hands each event to every
// subscriber whose filter matches. A subscriber is either a callback (run on
// the publisher's thread under the bus's lock: it must be quick, must not
// publish, and must not call back into the producer, which may hold its own
// locks) or a queue that a reader drains at its pace (the API's streams: a
// slow client never blocks a producer; a queue that overflows drops the
// events that do not fit and counts them).
//
// Threading: every member may be called from any thread.
#pragma once

#include "berth/core/error.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::core::container {
struct Container;
}  // namespace berth::core::container

namespace berth::core::events {

// One event, Docker's events.Message without the legacy fields (to_json
// derives them).
struct Event {
  std::string type;      // "container", "image", "daemon", "network", "volume", ...
  std::string action;    // "create", "die", "exec_start: sh -c ls", "untag", ...
  std::string actor_id;  // container ID, image ID or reference, daemon ID
  std::map<std::string, std::string> attributes;  // labels, "name", "image", "exitCode", ...
  std::string scope = "local";
  std::int64_t time_nano = 0;  // Unix time; publish() sets it when 0

  // Docker's JSON: {"status","id","from" (container and image events only),
  // "Type","Action","Actor":{"ID","Attributes"},"scope","time","timeNano"},
  // members in the order Go's encoder writes them.
  boost::json::object to_json() const;
};

// A container event as Docker's LogContainerEventWithAttributes makes it:
// `extra` ("exitCode", "signal", "execID", ...), the container's labels over
// it, then "image" (as the user named it) and "name" (without the "/").
Event container_event(const std::string& action, const container::Container& c,
                      std::map<std::string, std::string> extra);

// Docker's event filter (daemon/events/filter.go). Values of one key are
// alternatives, keys must all match, an absent key matches everything:
//   type, scope  exact;
//   event        exact, or a prefix for "exec_create", "exec_start" and
//                "health_status" (whose actions carry the command);
//   container, daemon, network, volume, plugin, ...
//                the actor's ID or "name" attribute, exact or by prefix, for
//                events of that type (other types pass);
//   image        exact: the actor ID or the image name (attribute "image"
//                of a container event, "name" of an image event), each also
//                without its tag ("busybox" matches "busybox:latest");
//   label        every "key" or "key=value" holds in the attributes.
class Filter {
 public:
  // Values by key, as api::parse_filters returns them (keys already checked).
  using Values = std::map<std::string, std::vector<std::string>>;
  Filter() = default;
  explicit Filter(Values filters) : f_(std::move(filters)) {}
  bool matches(const Event& e) const;

 private:
  Values f_;
};


// A queue subscription: events published after it was made and matching its
// filter, until it is destroyed.
class Subscription {
 public:
  ~Subscription();
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;

  // The next event, waiting up to `timeout`; nullopt when none came.
  std::optional<Event> next(std::chrono::milliseconds timeout);
  // Events dropped because the queue was full (the reader too slow).
  std::uint64_t dropped() const;

 private:
  friend class EventBus;
  struct State;
  explicit Subscription(std::shared_ptr<State> state, std::function<void()> cancel)
      : state_(std::move(state)), cancel_(std::move(cancel)) {}
  std::shared_ptr<State> state_;
  std::function<void()> cancel_;
};

class EventBus {
 public:
  static constexpr std::size_t kDefaultHistory = 1024;
  static constexpr std::size_t kQueueLimit = 4096;

  explicit EventBus(std::size_t history_limit = kDefaultHistory);
  ~EventBus();
  EventBus(const EventBus&) = delete;
  EventBus& operator=(const EventBus&) = delete;

  // Records `e` (stamping the time when it has none) and delivers it.
  void publish(Event e);

  // Calls `fn` with every matching event published from now on, until
  // unsubscribe(returned id). `fn` runs on the publisher's thread.
  using Callback = std::function<void(const Event&)>;
  std::uint64_t subscribe(Filter filter, Callback fn);
  void unsubscribe(std::uint64_t id);

  // Docker's SubscribeTopic: the recorded events matching `filter` with
  // since <= time (and time <= until when until is set; 0 means unset),
  // oldest first, into `past` — none when neither bound is set — and a
  // queue of the matching events published from then on. Both are taken
  // under one lock: no event is missed or seen twice between them.
  std::unique_ptr<Subscription> subscribe(std::int64_t since_nano, std::int64_t until_nano, Filter filter,
                                          std::vector<Event>& past);

 private:
  struct Subscriber {
    Filter filter;
    Callback fn;
  };
  std::size_t history_limit_;
  std::mutex mutex_;
  std::deque<Event> history_;
  std::map<std::uint64_t, Subscriber> subscribers_;
  std::uint64_t next_id_ = 1;
  std::int64_t last_time_ = 0;
};

}  // namespace berth::core::events
