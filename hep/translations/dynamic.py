# ruff: noqa: E501 - whole sentences read better unbroken
"""Strings the app translates from variables, listed so `pybabel extract` finds them.

Rules tables (hep/rules), schema words and validator messages stay plain English where they are
defined; templates and hep/forms.py pass them through gettext when they are shown. Keep this list
in step with those tables: tests/test_i18n.py fails when one of them is missing from the
catalogue. Nothing imports this module.
"""


def N_(message: str) -> str:  # noqa: N802 - the usual name of the no-op gettext marker
    return message


MESSAGES = (
    # hep/rules/safety.py: what the soreness rules tell the patient
    N_("No soreness. You may be ready to do a little more."),
    N_("The soreness went away as you warmed up. Stay at the same level."),
    N_(
        "The soreness did not go away. Stop for today, rest for 2 days, then go back to an easier level."
    ),
    N_(
        "You were still sore more than an hour later or the next day. Rest for 1 day, then repeat the same level. Do not do more yet."
    ),
    # hep/rules/safety.py: red-flag questions and what to do
    N_("Do you have pain or pressure in your chest, neck, jaw or arm?"),
    N_("Do you feel dizzy, or did you faint?"),
    N_("Are you short of breath, and it does not get better when you rest?"),
    N_("Is your heart racing, or beating in an uneven way?"),
    N_(
        "Did your face, arm or leg suddenly go numb or weak? Is it hard to speak or to see? Do you have a very bad headache?"
    ),
    N_(
        "Is the skin between your legs or around your bottom numb? Do you have new trouble controlling your pee or poo?"
    ),
    N_(
        "Is one calf (the back of your lower leg) swollen, painful, warm or red? Or did you suddenly get out of breath?"
    ),
    N_("Do you have sharp pain, or pain that keeps getting worse?"),
    N_("Stop now. Call your emergency number now: {number}."),
    N_("Stop exercising now. Contact your therapist before you exercise again."),
    # hep/rules/safety.py: alert reasons and conditions (therapist)
    N_("The patient answered yes to a red-flag question."),
    N_("The patient reported pain of 7 or more out of 10."),
    N_("Pain was over 5 out of 10 in two sessions in a row."),
    N_("Pain is 2 or more points above the patient's baseline."),
    N_("Acute fracture"),
    N_("Severe osteoporosis"),
    N_("Uncontrolled heart or blood pressure condition"),
    N_("Infection where the exercise works"),
    N_("Significant pain or instability"),
    # hep/patient/schemas.py: skip reasons and the words beside the 0-10 scales
    N_("It hurt too much"),
    N_("I was too tired"),
    N_("I did not have time"),
    N_("I was not sure how to do it"),
    N_("I did not have what I needed"),
    N_("Another reason"),
    N_("No pain"),
    N_("Very little pain"),
    N_("A little pain"),
    N_("Some pain"),
    N_("Quite a bit of pain"),
    N_("A lot of pain"),
    N_("Too much pain"),
    N_("Very bad pain"),
    N_("Very, very bad pain"),
    N_("Terrible pain"),
    N_("The worst pain you can imagine"),
    N_("Nothing at all"),
    N_("Very, very easy"),
    N_("Very easy"),
    N_("Easy"),
    N_("Fairly easy"),
    N_("Medium"),
    N_("A bit hard"),
    N_("Hard"),
    N_("Very hard"),
    N_("Very, very hard"),
    N_("As hard as I can"),
    # hep/patient/schemas.py: field names and messages in a patient's form errors
    N_("Exercise"),
    N_("Each set"),
    N_("Weight"),
    N_("Pain during the exercise"),
    N_("How hard it felt"),
    N_("Why you skipped it"),
    N_("Session id"),
    N_("Program"),
    N_("When you exercised"),
    N_("Soreness in the warm-up"),
    N_("Pain overall"),
    N_("Effort overall"),
    N_("Warning signs"),
    N_("Notes"),
    N_("Session"),
    N_("Has the soreness gone"),
    N_("Pain now"),
    N_("This session"),
    N_("This exercise"),
    N_("Say what you did in each set, or skip the exercise"),
    N_("Say how much it hurt and how hard it felt"),
    N_("The time of this session is in the future. Check the date and time on your phone."),
    N_("This session is more than 30 days old, so it cannot be saved."),
    N_("Each exercise can be logged once in a session"),
    N_("A session stopped for soreness in the warm-up has no exercises done"),
    # hep/accounts/schemas.py: field names and messages in form errors
    N_("Email address"),
    N_("Password"),
    N_("Time zone"),
    N_("Full name"),
    N_("Language"),
    N_("The 6-digit code"),
    N_("Password again"),
    N_("Clinic name"),
    N_("Email or sign-in name"),
    N_("Phone"),
    N_("Usual pain"),
    N_("Enter an email address like name@example.com"),
    N_("Choose a time zone from the list"),
    N_("Choose conditions from the list"),
    N_("Choose a language from the list"),
    N_("The two passwords are not the same"),
    # hep/notifications/schemas.py and hep/dashboard/schemas.py: field names
    N_("Start of quiet hours"),
    N_("End of quiet hours"),
    N_("What to send"),
    N_("Name"),
    N_("Only my patients"),
    N_("Show"),
    N_("Page"),
    N_("What you did"),
    N_("Note"),
    # Notification texts passed to notify() in English (hep/programs/service.py,
    # hep/progression.py, hep/alerts.py), stored in the recipient's language
    N_("Your exercises were updated"),
    N_("A patient needs you now"),
    N_("A patient needs attention"),
    N_("Open HEP to see the alert."),
    N_("A progression suggestion is ready"),
)
