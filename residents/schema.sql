-- The residents' records of one tenant town (its schema: {schema}). Created by provisioning on the
-- database primary (the standby receives them by replication), idempotent: IF NOT EXISTS throughout.
-- Three business areas: 住民基本台帳 (households, residents, movements), 個人住民税 (resident_tax),
-- 国民健康保険 (nhi_eligibility). Codes (sex, relationship, reason) are the code tables' of
-- residents/codes.yaml; the hand-over layouts (handover/layouts/) map these columns to their items.
CREATE TABLE IF NOT EXISTS {schema}.households (
    household_no   text PRIMARY KEY,          -- 世帯番号
    head_code      text NOT NULL,             -- 世帯主の住民票コード
    postal_code    text NOT NULL,             -- 郵便番号
    address        text NOT NULL,             -- 住所
    formed_on      date NOT NULL              -- 世帯となった日
);
CREATE TABLE IF NOT EXISTS {schema}.residents (
    resident_code  text PRIMARY KEY,          -- 住民票コード (11 digits)
    household_no   text NOT NULL REFERENCES {schema}.households,
    family_name    text NOT NULL,             -- 氏
    given_name     text NOT NULL,             -- 名
    family_kana    text NOT NULL,             -- 氏（カナ）: half-width in records kept from the old system
    given_kana     text NOT NULL,             -- 名（カナ）
    birth_date     date NOT NULL,             -- 生年月日
    sex            text NOT NULL,             -- 性別 (code)
    relationship   text NOT NULL,             -- 続柄 (code)
    address        text NOT NULL,             -- 住所
    resident_since date NOT NULL,             -- 住民となった日
    status         text NOT NULL,             -- 住民 | 転出 | 死亡 (removed ones are 除票)
    removed_on     date                       -- 消除日
);
CREATE TABLE IF NOT EXISTS {schema}.movements (
    resident_code  text NOT NULL REFERENCES {schema}.residents,
    seq            smallint NOT NULL,         -- the resident's n-th movement
    reason         text NOT NULL,             -- 異動事由 (code)
    moved_on       date NOT NULL,             -- 異動日
    reported_on    date NOT NULL,             -- 届出日
    other_address  text,                      -- 前住所 (転入) or 転出先 (転出)
    PRIMARY KEY (resident_code, seq)
);
CREATE TABLE IF NOT EXISTS {schema}.resident_tax (
    fiscal_year     smallint NOT NULL,        -- 課税年度
    resident_code   text NOT NULL REFERENCES {schema}.residents,
    taxable_income  bigint NOT NULL,          -- 課税標準額 (yen)
    income_levy     bigint NOT NULL,          -- 所得割額
    per_capita_levy integer NOT NULL,         -- 均等割額
    PRIMARY KEY (fiscal_year, resident_code)
);
CREATE TABLE IF NOT EXISTS {schema}.nhi_eligibility (
    resident_code  text NOT NULL REFERENCES {schema}.residents,
    insured_no     text NOT NULL,             -- 被保険者番号
    acquired_on    date NOT NULL,             -- 資格取得日
    lost_on        date,                      -- 資格喪失日
    PRIMARY KEY (resident_code, acquired_on)
);
CREATE TABLE IF NOT EXISTS {schema}.seed (
    dataset        text PRIMARY KEY,          -- the synthetic dataset's fingerprint (generator, seed, towns, scale)
    residents      integer NOT NULL,
    seeded_at      timestamptz NOT NULL DEFAULT now()
);
