"""Reference data seeded into every database: languages and Aya Red-teaming's harm categories.

Also the aliases that real files use for languages (ISO 639-3 codes, English names), so imports
accept "tgl" or "Filipino" as well as "tl".
"""

# (BCP-47 code, English name, direction)
LANGUAGES = [
    ("af", "Afrikaans", "ltr"), ("am", "Amharic", "ltr"), ("ar", "Arabic", "rtl"), ("az", "Azerbaijani", "ltr"),
    ("be", "Belarusian", "ltr"), ("bg", "Bulgarian", "ltr"), ("bn", "Bengali", "ltr"), ("ca", "Catalan", "ltr"),
    ("cs", "Czech", "ltr"), ("cy", "Welsh", "ltr"), ("da", "Danish", "ltr"), ("de", "German", "ltr"),
    ("el", "Greek", "ltr"), ("en", "English", "ltr"), ("es", "Spanish", "ltr"), ("et", "Estonian", "ltr"),
    ("eu", "Basque", "ltr"), ("fa", "Persian", "rtl"), ("fi", "Finnish", "ltr"), ("fil", "Filipino", "ltr"),
    ("fr", "French", "ltr"), ("ga", "Irish", "ltr"), ("gl", "Galician", "ltr"), ("gu", "Gujarati", "ltr"),
    ("ha", "Hausa", "ltr"), ("he", "Hebrew", "rtl"), ("hi", "Hindi", "ltr"), ("hr", "Croatian", "ltr"),
    ("hu", "Hungarian", "ltr"), ("hy", "Armenian", "ltr"), ("id", "Indonesian", "ltr"), ("ig", "Igbo", "ltr"),
    ("it", "Italian", "ltr"), ("ja", "Japanese", "ltr"), ("jv", "Javanese", "ltr"), ("ka", "Georgian", "ltr"),
    ("kk", "Kazakh", "ltr"), ("km", "Khmer", "ltr"), ("kn", "Kannada", "ltr"), ("ko", "Korean", "ltr"),
    ("ku", "Kurdish", "ltr"), ("ky", "Kyrgyz", "ltr"), ("lo", "Lao", "ltr"), ("lt", "Lithuanian", "ltr"),
    ("lv", "Latvian", "ltr"), ("mk", "Macedonian", "ltr"), ("ml", "Malayalam", "ltr"), ("mn", "Mongolian", "ltr"),
    ("mr", "Marathi", "ltr"), ("ms", "Malay", "ltr"), ("my", "Burmese", "ltr"), ("ne", "Nepali", "ltr"),
    ("nl", "Dutch", "ltr"), ("no", "Norwegian", "ltr"), ("pa", "Punjabi", "ltr"), ("pl", "Polish", "ltr"),
    ("ps", "Pashto", "rtl"), ("pt", "Portuguese", "ltr"), ("ro", "Romanian", "ltr"), ("ru", "Russian", "ltr"),
    ("si", "Sinhala", "ltr"), ("sk", "Slovak", "ltr"), ("sl", "Slovenian", "ltr"), ("so", "Somali", "ltr"),
    ("sq", "Albanian", "ltr"), ("sr", "Serbian", "ltr"), ("sv", "Swedish", "ltr"), ("sw", "Swahili", "ltr"),
    ("ta", "Tamil", "ltr"), ("te", "Telugu", "ltr"), ("th", "Thai", "ltr"), ("tl", "Tagalog", "ltr"),
    ("tr", "Turkish", "ltr"), ("uk", "Ukrainian", "ltr"), ("ur", "Urdu", "rtl"), ("uz", "Uzbek", "ltr"),
    ("vi", "Vietnamese", "ltr"), ("xh", "Xhosa", "ltr"), ("yi", "Yiddish", "rtl"), ("yo", "Yoruba", "ltr"),
    ("zh", "Chinese", "ltr"), ("zh-Hant", "Chinese (Traditional)", "ltr"), ("zu", "Zulu", "ltr"),
    ("dv", "Dhivehi", "rtl"), ("sd", "Sindhi", "rtl"), ("ug", "Uyghur", "rtl"),
]

# Names real files use for a language, lower-cased, mapped to our codes. Aya names its files by ISO 639-3.
LANGUAGE_ALIASES = {
    "eng": "en", "arb": "ar", "ara": "ar", "tgl": "tl", "fra": "fr", "fre": "fr", "hin": "hi", "rus": "ru",
    "srp": "sr", "spa": "es", "sp": "es", "zho": "zh", "cmn": "zh", "jpn": "ja", "kor": "ko", "ben": "bn",
    "swh": "sw", "swa": "sw", "deu": "de", "ger": "de", "ita": "it", "vie": "vi", "tha": "th", "jav": "jv",
    "heb": "he", "fas": "fa", "pes": "fa", "urd": "ur", "por": "pt", "tur": "tr", "ind": "id",
    "zh-cn": "zh", "zh-hans": "zh", "zh-tw": "zh-Hant",
}

# Aya Red-teaming's 9 categories, in the dataset's own wording.
HARM_CATEGORIES = [
    ("bullying-harassment", "Bullying & Harassment"),
    ("discrimination-injustice", "Discrimination & Injustice"),
    ("graphic-material", "Graphic material"),
    ("harms-of-representation", "Harms of Representation Allocation and Quality of Service"),
    ("hate-speech", "Hate Speech"),
    ("non-consensual-sexual-content", "Non-consensual sexual content"),
    ("profanity", "Profanity"),
    ("self-harm", "Self-Harm"),
    ("violence-threats-incitement", "Violence, Threats & Incitement"),
]


def seed(Language, HarmCategory, using="default"):
    """Create the reference rows that are missing; never touches rows a curator edited."""
    languages, categories = Language.objects.using(using), HarmCategory.objects.using(using)
    existing = set(languages.values_list("code", flat=True))
    languages.bulk_create([Language(code=c, name=n, direction=d) for c, n, d in LANGUAGES if c not in existing])
    existing = set(categories.values_list("slug", flat=True))
    categories.bulk_create(
        [HarmCategory(slug=s, name=n, order=i) for i, (s, n) in enumerate(HARM_CATEGORIES) if s not in existing]
    )
