"""Ballot secrecy: participations keep the day only, submissions no time, and cast ballots
wait in shuffled batches (PendingBallot) before they enter the log."""

import django.db.models.deletion
from django.db import migrations, models

import civicbudget.voting.models


def participation_days(apps, schema_editor):
    from django.utils import timezone

    Participation = apps.get_model("voting", "Participation")
    for pk, at in Participation.objects.values_list("pk", "at").iterator(chunk_size=2000):
        Participation.objects.filter(pk=pk).update(day=timezone.localdate(at))


class Migration(migrations.Migration):

    dependencies = [
        ('cycles', '0001_initial'),
        ('voting', '0003_offlinecheckin'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='submission',
            name='at',
        ),
        migrations.AddField(
            model_name='ballotlog',
            name='pending_since',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='participation',
            name='day',
            field=models.DateField(default=civicbudget.voting.models.local_today),
        ),
        # Keep the day of each existing participation, then drop its time.
        migrations.RunPython(participation_days, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name='participation',
            name='at',
        ),
        migrations.CreateModel(
            name='PendingBallot',
            fields=[
                ('leaf', models.CharField(max_length=64, primary_key=True, serialize=False)),
                ('channel', models.CharField(choices=[('online', 'online'), ('polling', 'polling point'), ('mobile_box', 'mobile ballot box'), ('school', 'school session')], max_length=12)),
                ('data', models.TextField()),
                ('cycle', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='cycles.cycle')),
                ('scope', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='voting.votingscope')),
                ('station', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='voting.pollingstation')),
            ],
        ),
    ]
