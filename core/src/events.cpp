#include "berth/core/events.hpp"

#include "berth/core/container/manager.hpp"
#include "berth/core/image/reference.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <condition_variable>

namespace berth::core::events {
namespace json = boost::json;

json::object Event::to_json() const {
  json::object out;
  // Docker fills the pre-1.22 fields for container and image events only.
  if (type == "container" || type == "image") {
    out["status"] = action;
    out["id"] = actor_id;
    if (type == "container") {
      if (auto it = attributes.find("image"); it != attributes.end() && !it->second.empty()) out["from"] = it->second;
    }
  }
  out["Type"] = type;
  out["Action"] = action;
  json::object attrs;
  for (const auto& [k, v] : attributes) attrs[k] = v;
  out["Actor"] = json::object{{"ID", actor_id}, {"Attributes", std::move(attrs)}};
  if (!scope.empty()) out["scope"] = scope;
  out["time"] = time_nano / 1'000'000'000;
  out["timeNano"] = time_nano;
  return out;
}

Event container_event(const std::string& action, const container::Container& c,
                      std::map<std::string, std::string> extra) {
  Event e{.type = "container", .action = action, .actor_id = c.id, .attributes = std::move(extra)};
  if (c.id.empty()) return e;  // about no container in particular (prune)
  if (const auto* labels = c.container_config().if_contains("Labels"); labels != nullptr && labels->is_object()) {
    for (const auto& [k, v] : labels->get_object()) {
      if (v.is_string()) e.attributes[std::string(k)] = v.get_string();
    }
  }
  if (auto image = c.image_name(); !image.empty()) e.attributes["image"] = image;
  e.attributes["name"] = c.name.starts_with('/') ? c.name.substr(1) : c.name;
  return e;
}

namespace {

using Wanted = std::vector<std::string>;  // the values of one filter key

const Wanted* values(const Filter::Values& f, std::string_view key) {
  auto it = f.find(std::string(key));
  return it == f.end() || it->second.empty() ? nullptr : &it->second;
}

// filters.Args.ExactMatch / FuzzyMatch: no values for the key match all.
bool exact(const Wanted* wanted, std::string_view source) {
  return wanted == nullptr || std::find(wanted->begin(), wanted->end(), source) != wanted->end();
}

bool fuzzy(const Wanted* wanted, std::string_view source) {
  if (wanted == nullptr) return true;
  return std::any_of(wanted->begin(), wanted->end(), [&](const std::string& w) { return source.starts_with(w); });
}

std::string attribute(const Event& e, const std::string& key) {
  auto it = e.attributes.find(key);
  return it == e.attributes.end() ? std::string() : it->second;
}

// An image name without its tag, as Docker's stripTag (FamiliarName);
// anything that is no reference (an ID) as it is.
std::string strip_tag(const std::string& name) {
  auto ref = image::Reference::parse(name);
  return ref ? ref.value().familiar_name() : name;
}

}  // namespace

bool Filter::matches(const Event& e) const {
  const Wanted* event = values(f_, "event");
  bool fuzzy_event = event != nullptr && std::any_of(event->begin(), event->end(), [](const std::string& v) {
                       return v == "exec_create" || v == "exec_start" || v == "health_status";
                     });
  if (!(fuzzy_event ? fuzzy(event, e.action) : exact(event, e.action))) return false;
  if (!exact(values(f_, "type"), e.type) || !exact(values(f_, "scope"), e.scope)) return false;
  // Each object kind's key names actors of that kind only.
  for (std::string_view kind : {"container", "daemon", "network", "volume", "plugin", "node", "service", "secret",
                                "config"}) {
    if (e.type != kind) continue;
    const Wanted* wanted = values(f_, kind);
    if (!fuzzy(wanted, e.actor_id) && !fuzzy(wanted, attribute(e, "name"))) return false;
  }
  if (const Wanted* wanted = values(f_, "image")) {
    std::string name = attribute(e, e.type == "image" ? "name" : "image");
    if (!exact(wanted, e.actor_id) && !exact(wanted, name) && !exact(wanted, strip_tag(e.actor_id)) &&
        !exact(wanted, strip_tag(name))) {
      return false;
    }
  }
  if (const Wanted* wanted = values(f_, "label")) {
    // filters.Args.MatchKVList.
    if (e.attributes.empty()) return false;
    for (const auto& want : *wanted) {
      auto eq = want.find('=');
      auto it = e.attributes.find(want.substr(0, eq));
      if (it == e.attributes.end()) return false;
      if (eq != std::string::npos && it->second != want.substr(eq + 1)) return false;
    }
  }
  return true;
}

// --- subscriptions -------------------------------------------------------------

struct Subscription::State {
  std::mutex mutex;
  std::condition_variable ready;
  std::deque<Event> queue;
  std::uint64_t dropped = 0;
};

Subscription::~Subscription() {
  if (cancel_) cancel_();
}

std::optional<Event> Subscription::next(std::chrono::milliseconds timeout) {
  std::unique_lock lock(state_->mutex);
  if (!state_->ready.wait_for(lock, timeout, [&] { return !state_->queue.empty(); })) return std::nullopt;
  Event e = std::move(state_->queue.front());
  state_->queue.pop_front();
  return e;
}

std::uint64_t Subscription::dropped() const {
  std::lock_guard lock(state_->mutex);
  return state_->dropped;
}

EventBus::EventBus(std::size_t history_limit) : history_limit_(history_limit) {}
EventBus::~EventBus() = default;

void EventBus::publish(Event e) {
  std::lock_guard lock(mutex_);
  if (e.time_nano == 0) {
    e.time_nano = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  }
  // The history is in publication order; `since` relies on its times not
  // going backwards (the clock may, when stepped).
  e.time_nano = std::max(e.time_nano, last_time_);
  last_time_ = e.time_nano;
  for (const auto& [id, s] : subscribers_) {
    if (s.filter.matches(e)) s.fn(e);
  }
  history_.push_back(std::move(e));
  while (history_.size() > history_limit_) history_.pop_front();
}

std::uint64_t EventBus::subscribe(Filter filter, Callback fn) {
  std::lock_guard lock(mutex_);
  std::uint64_t id = next_id_++;
  subscribers_.emplace(id, Subscriber{std::move(filter), std::move(fn)});
  return id;
}

void EventBus::unsubscribe(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  subscribers_.erase(id);
}

std::unique_ptr<Subscription> EventBus::subscribe(std::int64_t since_nano, std::int64_t until_nano, Filter filter,
                                                  std::vector<Event>& past) {
  auto state = std::make_shared<Subscription::State>();
  std::lock_guard lock(mutex_);
  if (since_nano != 0 || until_nano != 0) {
    for (const auto& e : history_) {
      if (e.time_nano < since_nano) continue;
      if (until_nano != 0 && e.time_nano > until_nano) break;
      if (filter.matches(e)) past.push_back(e);
    }
  }
  std::uint64_t id = next_id_++;
  subscribers_.emplace(id, Subscriber{std::move(filter), [state](const Event& e) {
                                        std::lock_guard l(state->mutex);
                                        if (state->queue.size() >= kQueueLimit) {
                                          ++state->dropped;
                                          return;
                                        }
                                        state->queue.push_back(e);
                                        state->ready.notify_one();
                                      }});
  return std::unique_ptr<Subscription>(new Subscription(state, [this, id] { unsubscribe(id); }));
}

}  // namespace berth::core::events
