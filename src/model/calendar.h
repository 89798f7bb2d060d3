// UTC calendar views of epoch milliseconds (model/time.h): the text people read
// in event texts and mails, and the bounds of a calendar year for per-day
// statistics. The API's times stay epoch milliseconds.
#pragma once

#include <string>

#include "model/time.h"

namespace roost {

// `ms` as "2026-12-02T10:38:00Z": UTC, to the second (milliseconds dropped,
// rounding towards the past, also before 1970).
std::string UtcText(EpochMillis ms);

// A calendar year in UTC (proleptic Gregorian): the epoch milliseconds of its
// January 1st, 00:00, and its length in days (365, or 366 in a leap year).
struct UtcYear {
  EpochMillis start = 0;
  int days = 0;
};
UtcYear UtcYearOf(int year);

}  // namespace roost
