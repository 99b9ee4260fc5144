#include "berth/core/container/names.hpp"

#include <array>
#include <random>
#include <string_view>

namespace berth::core::container {

namespace {

// Docker's adjectives and the scientists and hackers it names containers
// after (a selection of its lists; "boring_wozniak" is excluded as Docker does).
constexpr std::array<std::string_view, 48> kAdjectives = {
    "admiring", "adoring",  "affectionate", "agitated", "amazing",  "angry",    "awesome",  "beautiful",
    "blissful", "bold",     "brave",        "busy",     "charming", "clever",   "compassionate",
    "competent", "confident", "cool",       "dazzling", "determined", "distracted", "dreamy", "eager",
    "ecstatic", "elastic",  "elated",       "elegant",  "eloquent", "epic",     "exciting", "fervent",
    "festive",  "flamboyant", "focused",    "friendly", "frosty",   "funny",    "gallant",  "gifted",
    "goofy",    "gracious", "great",        "happy",    "hardcore", "heuristic", "hopeful", "hungry",
    "infallible"};

constexpr std::array<std::string_view, 48> kSurnames = {
    "albattani", "allen",    "almeida",  "archimedes", "ardinghelli", "aryabhata", "austin",   "babbage",
    "banach",    "bardeen",  "bartik",   "bassi",      "bell",        "benz",      "bhabha",   "bohr",
    "booth",     "borg",     "bose",     "brahmagupta", "brattain",   "brown",     "carson",   "cerf",
    "chandrasekhar", "chaplygin", "chatelet", "clarke", "colden",     "cori",      "cray",     "curie",
    "darwin",    "davinci",  "diffie",   "dijkstra",   "dirac",       "driscoll",  "dubinsky", "easley",
    "edison",    "einstein", "elion",    "engelbart",  "euclid",      "euler",     "faraday",  "turing"};

}  // namespace

std::string random_name(int retry) {
  static thread_local std::mt19937 rng{std::random_device{}()};
  std::string name = std::string(kAdjectives[rng() % kAdjectives.size()]) + "_" +
                     std::string(kSurnames[rng() % kSurnames.size()]);
  if (retry > 0) name += std::to_string(rng() % 10);
  return name;
}

}  // namespace berth::core::container
