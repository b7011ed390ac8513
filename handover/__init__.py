"""The fiscal-year data hand-over (年度末データ納品): the towns' records in the intermediate standard
layout (中間標準レイアウト), layouts as data (layouts/*.yaml), exported, packaged and delivered."""
